"""Reading articles with column selects, in a fixed number of statements whatever the page size.

A page costs three statements: the page itself (articles joined to their authors, with the
favorites count and the viewer's `favorited` and `following` as correlated subqueries, which
run only for the page's rows), the total count, and the tag lists of the page's articles.
Column selects skip ORM hydration, which dominated the cost of a page.

The join to users is a LEFT JOIN on purpose: with an INNER JOIN, MariaDB 10.11 may drive the
join from users and sort every article; the LEFT JOIN reads the newest rows off
ix_articles_created_at and stops after the page.
"""

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, bindparam, exists, func, select

from app.extensions import db
from blueprints.profiles.models import Follow
from blueprints.tags.models import ArticleTag, Tag
from blueprints.users.models import User

from .models import Article, Favorite

articles = Article.__table__
authors = User.__table__
favorites = Favorite.__table__
follows = Follow.__table__
tags = Tag.__table__
article_tags = ArticleTag.__table__

viewer_id = bindparam("viewer_id")


@dataclass(frozen=True)
class ArticleFilters:
    """What a list request asks for; every filter given must hold."""

    tag: str | None = None
    author: str | None = None
    favorited: str | None = None
    followed_by: int | None = None


def filter_conditions(filters: ArticleFilters) -> list[ColumnElement[bool]]:
    """The WHERE conditions of `filters` (subqueries on their own aliases, never correlated)."""
    conditions = []
    if filters.tag is not None:
        tagged = (
            select(article_tags.c.article_id)
            .join(tags, tags.c.id == article_tags.c.tag_id)
            .where(tags.c.name == filters.tag)
        )
        conditions.append(articles.c.id.in_(tagged))
    if filters.author is not None:
        writer = authors.alias("writer")
        conditions.append(
            articles.c.author_id.in_(select(writer.c.id).where(writer.c.username == filters.author))
        )
    if filters.favorited is not None:
        fan = authors.alias("fan")
        liked = (
            select(favorites.c.article_id)
            .join(fan, fan.c.id == favorites.c.user_id)
            .where(fan.c.username == filters.favorited)
        )
        conditions.append(articles.c.id.in_(liked))
    if filters.followed_by is not None:
        followed = select(follows.c.followed_id).where(follows.c.follower_id == filters.followed_by)
        conditions.append(articles.c.author_id.in_(followed))
    return conditions


def _page_statement(conditions, with_body: bool) -> Select:
    favorites_count = (
        select(func.count()).where(favorites.c.article_id == articles.c.id).scalar_subquery()
    )
    favorited = exists().where(
        favorites.c.article_id == articles.c.id, favorites.c.user_id == viewer_id
    )
    following = exists().where(
        follows.c.follower_id == viewer_id, follows.c.followed_id == articles.c.author_id
    )
    columns = [
        articles.c.id,
        articles.c.slug,
        articles.c.title,
        articles.c.description,
        articles.c.created_at,
        articles.c.updated_at,
        authors.c.username,
        authors.c.bio,
        authors.c.image,
        favorites_count.label("favorites_count"),
        favorited.label("favorited"),
        following.label("following"),
    ]
    if with_body:
        columns.append(articles.c.body)
    return (
        select(*columns)
        .select_from(articles.outerjoin(authors, authors.c.id == articles.c.author_id))
        .where(*conditions)
        .order_by(articles.c.created_at.desc(), articles.c.id.desc())
    )


def _tag_lists(article_ids: list[int]) -> dict[int, list[str]]:
    """Each article's tag names in their order: one statement for all of `article_ids`."""
    lists: dict[int, list[str]] = {article_id: [] for article_id in article_ids}
    if article_ids:
        query = (
            select(article_tags.c.article_id, tags.c.name)
            .join(tags, tags.c.id == article_tags.c.tag_id)
            .where(article_tags.c.article_id.in_(article_ids))
            .order_by(article_tags.c.article_id, article_tags.c.position)
        )
        for article_id, name in db.session.execute(query):
            lists[article_id].append(name)
    return lists


def _views(rows) -> list[dict]:
    """Rows of the page statement as the article output schema reads them."""
    tag_lists = _tag_lists([row.id for row in rows])
    return [
        {
            **row._mapping,
            "tag_list": tag_lists[row.id],
            "favorited": bool(row.favorited),
            "author": {
                "username": row.username,
                "bio": row.bio,
                "image": row.image,
                "following": bool(row.following),
            },
        }
        for row in rows
    ]


def list_articles(
    filters: ArticleFilters, viewer: int | None, limit: int, offset: int
) -> tuple[list[dict], int]:
    """A page of the articles matching `filters`, newest first, as `viewer` sees them (None for
    an anonymous viewer), and how many articles match in all: three statements.
    """
    conditions = filter_conditions(filters)
    page = _page_statement(conditions, with_body=False).limit(limit).offset(offset)
    rows = db.session.execute(page, {"viewer_id": viewer}).all()
    total = db.session.execute(
        select(func.count()).select_from(articles).where(*conditions)
    ).scalar_one()
    return _views(rows), total


def find_article(slug: str, viewer: int | None) -> dict | None:
    """The article at `slug`, body included, as `viewer` sees it; None if there is none."""
    query = _page_statement([articles.c.slug == slug], with_body=True)
    rows = db.session.execute(query, {"viewer_id": viewer}).all()
    return _views(rows)[0] if rows else None


def find_article_by_id(article_id: int, viewer: int | None) -> dict | None:
    """The article `article_id`, body included, as `viewer` sees it; None if there is none."""
    query = _page_statement([articles.c.id == article_id], with_body=True)
    rows = db.session.execute(query, {"viewer_id": viewer}).all()
    return _views(rows)[0] if rows else None
