"""Reading articles with column selects: a page of articles is one SQL statement.

The statement picks the page's ids first (a derived table read off a newest-first index: the
articles', or for a tag alone the tag's, migration 0011), then joins each of those rows to its
author and adds, per row and for a viewer with an account only, the viewer's `favorited` and
`following` (correlated subqueries, so they run for the page's rows only, never for every
matching article), and the total number of matching articles (an uncorrelated subquery the
database runs once). The favorites count and the tag names are columns of the article (kept by
services.py, migration 0007): counting and aggregating them per row was 32% of the statement's
cost. Column selects skip ORM hydration, and fewer statements mean fewer round trips: together
they were most of the cost of a page.

Traps on MariaDB 10.11, measured on 10,000 articles: without the derived table, a filtered
list (by tag, the feed) sorts every matching row, subqueries included (23 ms against 3.5 for a
common tag); an INNER JOIN of articles and users with ORDER BY created_at LIMIT drives the join
from users and sorts all the articles (the LEFT JOIN reads the newest rows off
ix_articles_newest_first and stops); COUNT(*) OVER () is slower than a separate count (reported
in the issue, not tried here).
"""

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    Select,
    String,
    and_,
    bindparam,
    cast,
    exists,
    false,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from app.cache import keep, known
from app.errors import found
from app.reads import read, read_first
from blueprints.profiles.models import Follow
from blueprints.tags.models import ArticleTag, Tag
from blueprints.users.models import User

from .models import Article, AuthorArticleCount, Favorite

articles = Article.__table__
author_counts = AuthorArticleCount.__table__
authors = User.__table__
favorites = Favorite.__table__
follows = Follow.__table__
tags = Tag.__table__
article_tags = ArticleTag.__table__

viewer_id = bindparam("viewer_id")
# Every this many articles of the whole list, the read cache keeps the sort key of the article
# there, so that a page deep in the list starts its walk of the index at the nearest one.
POSITION_STRIDE = 200


class json_array_agg(FunctionElement):
    """The JSON array of an expression's values over a group (order unspecified)."""

    type = String()
    name = "json_array_agg"
    inherit_cache = True


@compiles(json_array_agg)
def _json_group_array(element, compiler, **kw) -> str:
    return f"json_group_array({compiler.process(element.clauses, **kw)})"


@compiles(json_array_agg, "mysql")
@compiles(json_array_agg, "mariadb")
def _json_arrayagg(element, compiler, **kw) -> str:
    return f"JSON_ARRAYAGG({compiler.process(element.clauses, **kw)})"


class api_timestamp(FunctionElement):
    """A timestamp column as the API writes it, ISO 8601 UTC to the millisecond (truncated)
    with a Z, `2026-11-25T16:21:30.123Z`, formatted by the database: a page carries forty, and
    turning each into a datetime and back into text in Python cost a tenth of the request.
    """

    type = String()
    name = "api_timestamp"
    inherit_cache = True


@compiles(api_timestamp)
def _sqlite_api_timestamp(element, compiler, **kw) -> str:
    # SQLite holds what SQLAlchemy stores: 'YYYY-MM-DD HH:MM:SS.ffffff', always 26 characters.
    column = compiler.process(element.clauses, **kw)
    return f"substr({column}, 1, 10) || 'T' || substr({column}, 12, 12) || 'Z'"


@compiles(api_timestamp, "mysql")
@compiles(api_timestamp, "mariadb")
def _mariadb_api_timestamp(element, compiler, **kw) -> str:
    column = compiler.process(element.clauses, **kw)
    pattern = compiler.process(literal("%Y-%m-%dT%H:%i:%s.%f"), **kw)
    return f"CONCAT(LEFT(DATE_FORMAT({column}, {pattern}), 23), 'Z')"


@dataclass(frozen=True)
class ArticleFilters:
    """What a list request asks for; every filter given must hold."""

    tag: str | None = None
    author: str | None = None
    favorited: str | None = None
    followed_by: int | None = None

    def given(self) -> frozenset[str]:
        """The names of the filters given."""
        return frozenset(name for name, value in vars(self).items() if value is not None)

    def parameters(self) -> dict[str, Any]:
        """The values of the filters given, as the statements' bind parameters."""
        return {name: value for name, value in vars(self).items() if value is not None}


def filter_conditions(given: frozenset[str], table) -> list[ColumnElement[bool]]:
    """The WHERE conditions on `table` (articles or an alias of it) for the filters `given`,
    their values left as bind parameters of the same names. The author filters (`author`,
    `followed_by`) read only `table.c.author_id`: they also filter author_article_counts.
    """
    conditions = []
    if "tag" in given:
        tagged = (
            select(article_tags.c.article_id)
            .join(tags, tags.c.id == article_tags.c.tag_id)
            .where(tags.c.name == bindparam("tag"))
        )
        conditions.append(table.c.id.in_(tagged))
    if "author" in given:
        writer = authors.alias("writer")
        written = select(writer.c.id).where(writer.c.username == bindparam("author"))
        conditions.append(table.c.author_id.in_(written))
    if "favorited" in given:
        fan = authors.alias("fan")
        liked = (
            select(favorites.c.article_id)
            .join(fan, fan.c.id == favorites.c.user_id)
            .where(fan.c.username == bindparam("favorited"))
        )
        conditions.append(table.c.id.in_(liked))
    if "followed_by" in given:
        followed = select(follows.c.followed_id).where(
            follows.c.follower_id == bindparam("followed_by")
        )
        conditions.append(table.c.author_id.in_(followed))
    return conditions


@cache
def count_statement(given: frozenset[str]) -> Select:
    """How many articles match the filters `given`, counted where it costs least and exactly.

    With no filter, or filters on the author only (an author, the authors a user follows: the
    feed), the per-author counts that triggers keep are summed (one row an author, not one an
    article). A tag or a favoriting user alone is counted off the association table's index
    alone (its foreign keys guarantee every row is an existing article).
    """
    if given <= {"author", "followed_by"}:
        return select(cast(func.coalesce(func.sum(author_counts.c.articles), 0), Integer)).where(
            *filter_conditions(given, author_counts)
        )
    if given == {"tag"}:
        return (
            select(func.count())
            .select_from(article_tags.join(tags, tags.c.id == article_tags.c.tag_id))
            .where(tags.c.name == bindparam("tag"))
        )
    if given == {"favorited"}:
        fan = authors.alias("fan")
        return (
            select(func.count())
            .select_from(favorites.join(fan, fan.c.id == favorites.c.user_id))
            .where(fan.c.username == bindparam("favorited"))
        )
    counted = articles.alias("counted")
    return select(func.count()).select_from(counted).where(*filter_conditions(given, counted))


def _article_columns(with_body: bool, viewed: bool) -> list:
    """The article's columns, its author's, and, for a `viewed` statement (a viewer with an
    account), whether the viewer favorites the article and follows its author; an anonymous
    statement skips both lookups.
    """
    if viewed:
        favorited = exists().where(
            favorites.c.article_id == articles.c.id, favorites.c.user_id == viewer_id
        )
        following = exists().where(
            follows.c.follower_id == viewer_id, follows.c.followed_id == articles.c.author_id
        )
    else:
        favorited = following = false()
    columns = [
        articles.c.slug,
        articles.c.title,
        articles.c.description,
        api_timestamp(articles.c.created_at).label("created_at"),
        api_timestamp(articles.c.updated_at).label("updated_at"),
        authors.c.username,
        authors.c.bio,
        authors.c.image,
        articles.c.favorites_count,
        favorited.label("favorited"),
        following.label("following"),
        articles.c.tag_list,
    ]
    if with_body:
        columns += [articles.c.body, articles.c.id, articles.c.author_id]
    return columns


def _from_position(table) -> ColumnElement[bool]:
    """`table`'s articles from the one whose sort key is `position_at`, `position_id` (bind
    parameters) on, itself included, newest first."""
    at = bindparam("position_at", type_=table.c.created_at.type)
    return or_(
        table.c.created_at < at,
        and_(table.c.created_at == at, table.c.id <= bindparam("position_id")),
    )


@cache
def page_statement(
    given: frozenset[str],
    viewed: bool = True,
    with_total: bool = True,
    from_position: bool = False,
) -> Select:
    """The page of articles matching the filters `given` (bind parameters `limit`, `offset`,
    `viewer_id` when `viewed`, and the filters'), newest first, with the total as `total` when
    `with_total` (the read cache may know it). `from_position` counts `offset` from the
    article whose sort key is `position_at`, `position_id` (itself included) instead of from
    the newest: the walk of the index starts there.

    A tag alone reads its page off ix_article_tags_newest_first, which holds each tag's
    articles in the lists' order; other filters read ix_articles_newest_first and keep the
    articles that match.

    Built once per combination of filters: building a statement costs more than running it.
    """
    if given == {"tag"}:
        tag_id = select(tags.c.id).where(tags.c.name == bindparam("tag")).scalar_subquery()
        page = select(
            article_tags.c.article_id.label("id"),
            article_tags.c.article_created_at.label("created_at"),
        ).where(article_tags.c.tag_id == tag_id)
        newest_first = (article_tags.c.article_created_at.desc(), article_tags.c.article_id.desc())
    else:
        paged = articles.alias("paged")
        page = select(paged.c.id, paged.c.created_at).where(*filter_conditions(given, paged))
        if from_position:
            page = page.where(_from_position(paged))
        newest_first = (paged.c.created_at.desc(), paged.c.id.desc())
    page = (
        page.order_by(*newest_first)
        .limit(bindparam("limit", literal_execute=False))
        .offset(bindparam("offset", literal_execute=False))
        .subquery("page")
    )
    columns = _article_columns(with_body=False, viewed=viewed)
    if with_total:
        columns.append(count_statement(given).scalar_subquery().label("total"))
    return (
        select(*columns)
        .select_from(
            page.join(articles, articles.c.id == page.c.id).outerjoin(
                authors, authors.c.id == articles.c.author_id
            )
        )
        .order_by(page.c.created_at.desc(), page.c.id.desc())
    )


@cache
def _position_statement(from_position: bool) -> Select:
    """The sort key of the article `offset` (a bind parameter) articles on in the whole list,
    counted from the newest or, `from_position`, from the article at `position_at`,
    `position_id`."""
    statement = select(articles.c.created_at, articles.c.id)
    if from_position:
        statement = statement.where(_from_position(articles))
    return (
        statement.order_by(articles.c.created_at.desc(), articles.c.id.desc())
        .limit(1)
        .offset(bindparam("offset", literal_execute=False))
    )


def _position(start: int) -> tuple | None:
    """The sort key of the article at `start` (a multiple of POSITION_STRIDE) of the whole list,
    None past its end: from the read cache, or found by walking the index on from the nearest
    position it keeps before `start` (from the newest when none), so that a generation's
    positions, found in any order, cost a few walks of the index, not one each from the top."""
    wanted = start // POSITION_STRIDE
    for index in range(wanted, 0, -1):
        nearest = known(("articles position", index))
        if nearest is not None:
            break
    else:
        index, nearest = 0, None
    if index == wanted:
        return nearest
    parameters: dict[str, Any] = {"offset": (wanted - index) * POSITION_STRIDE}
    if nearest is not None:
        parameters.update(position_at=nearest[0], position_id=nearest[1])
    row = read_first(_position_statement(nearest is not None), parameters)
    position = None if row is None else tuple(row)
    keep(("articles position", wanted), position)
    return position


def list_articles(
    filters: ArticleFilters, viewer: int | None, limit: int, offset: int
) -> tuple[list[Row], int]:
    """A page of the articles matching `filters`, newest first, as `viewer` sees them (None for
    an anonymous viewer), and how many articles match in all: one statement, and one more for
    a page past the end (which has no row to carry the total) or for a position (below) the
    read cache does not hold yet.

    The read cache keeps the total of each filter set while the data is unchanged: the page
    statement then leaves the count out (a third of its cost without a filter), and a page
    past that total runs no statement at all. Not for the feed: follows do
    not change the cache's generation. It also keeps, every POSITION_STRIDE articles of the
    whole list, the sort key of the article there (one statement the first time): a page at
    offset 5,000 then reads from the nearest such position, not through the 5,000 newer
    entries of the index (0.6 ms of MariaDB's CPU on 10,000 articles).
    """
    given, parameters = filters.given(), filters.parameters()
    total_key = None if "followed_by" in given else ("articles total", filters)
    total = None if total_key is None else known(total_key)
    if total is not None and offset >= total:
        return [], total  # past the end of a total the cache knows: no row to read
    position = None
    if total is not None and not given and offset >= POSITION_STRIDE:
        position = _position(offset - offset % POSITION_STRIDE)
    if position is not None:
        parameters.update(position_at=position[0], position_id=position[1])
        offset %= POSITION_STRIDE
    statement = page_statement(
        given, viewer is not None, total is None, from_position=position is not None
    )
    rows = read(statement, {**parameters, "viewer_id": viewer, "limit": limit, "offset": offset})
    if total is not None:
        return rows, total
    if rows:
        total = rows[0].total
    elif offset == 0:
        total = 0
    else:
        [(total,)] = read(count_statement(given), parameters)
    if total_key is not None:
        keep(total_key, total)
    return rows, total


@cache
def _find_statement(viewed: bool) -> Select:
    """One article with its body (and its id and author_id), by `slug` (a bind parameter)."""
    return (
        select(*_article_columns(with_body=True, viewed=viewed))
        .select_from(articles.outerjoin(authors, authors.c.id == articles.c.author_id))
        .where(articles.c.slug == bindparam("slug"))
    )


def find_article(slug: str, viewer: int | None) -> Row:
    """The article at `slug`, body included, as `viewer` sees it; 404 if there is none."""
    parameters = {"slug": slug, "viewer_id": viewer}
    return found(read_first(_find_statement(viewer is not None), parameters), "article")
