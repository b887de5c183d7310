"""Articles' input (load) and output (dump) schemas."""

import json
from types import SimpleNamespace
from typing import Any

from marshmallow import Schema, fields, post_load, validate
from sqlalchemy import Row

from app.responses import raw_json
from app.schemas import (
    InputSchema,
    PageQuery,
    ProfileOutput,
    Timestamp,
    iso_timestamp,
    not_blank,
    strip,
)
from blueprints.tags.models import TAG_MAX_LENGTH

from .models import BODY_MAX_LENGTH, DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH, Article
from .queries import ArticleFilters

MAX_TAGS = 20
FILTERS = ("tag", "author", "favorited")


def _without_blanks(value):
    """The tags sent, blank ones dropped (a client may send one when Enter is pressed twice);
    null means none."""
    if value is None:
        return []
    if isinstance(value, list):
        return [tag for tag in value if not (isinstance(tag, str) and not tag.strip())]
    return value


def title_field(**kwargs) -> fields.String:
    return fields.String(
        pre_load=strip, validate=[not_blank, validate.Length(max=TITLE_MAX_LENGTH)], **kwargs
    )


def description_field(**kwargs) -> fields.String:
    return fields.String(
        pre_load=strip,
        validate=[not_blank, validate.Length(max=DESCRIPTION_MAX_LENGTH)],
        **kwargs,
    )


def body_field(**kwargs) -> fields.String:
    # The body is Markdown: kept exactly as sent, surrounding whitespace included.
    return fields.String(validate=[not_blank, validate.Length(max=BODY_MAX_LENGTH)], **kwargs)


def tag_list_field(**kwargs) -> fields.List:
    """`tagList`: at most 20 strings of at most 50 characters, blank ones dropped and repeats
    too (services.py); null means none."""
    tag = fields.String(pre_load=strip, validate=validate.Length(max=TAG_MAX_LENGTH))
    return fields.List(
        tag,
        data_key="tagList",
        allow_none=True,
        pre_load=_without_blanks,
        validate=validate.Length(max=MAX_TAGS, error=f"must have at most {MAX_TAGS} tags"),
        **kwargs,
    )


class NewArticleInput(InputSchema):
    title = title_field(required=True)
    description = description_field(required=True)
    body = body_field(required=True)
    tags = tag_list_field(load_default=list)


class ArticleUpdateInput(InputSchema):
    """Every field is optional; `tagList`, beyond the spec's UpdateArticle, replaces the tags."""

    title = title_field()
    description = description_field()
    body = body_field()
    tags = tag_list_field()


class ArticleListQuery(PageQuery):
    """The filters of the articles list; an empty value filters nothing."""

    tag = fields.String(metadata={"description": "Only articles with this tag"})
    author = fields.String(metadata={"description": "Only articles by this username"})
    favorited = fields.String(metadata={"description": "Only articles this username favorited"})

    @post_load
    def as_filters(self, query: dict, **kwargs) -> dict:
        """The arguments of queries.list_articles: the filters, `limit` and `offset`."""
        given = {name: (query.pop(name, "") or "").strip() or None for name in FILTERS}
        return {**query, "filters": ArticleFilters(**given)}


class ArticleSummaryOutput(Schema):
    """An article in a list (documents article_summary_output)."""

    slug = fields.String()
    title = fields.String()
    description = fields.String()
    tagList = fields.List(fields.String())
    createdAt = Timestamp()
    updatedAt = Timestamp()
    favorited = fields.Boolean()
    favoritesCount = fields.Integer()
    author = fields.Nested(ProfileOutput)


class ArticleOutput(ArticleSummaryOutput):
    """One article, body included (documents article_output)."""

    body = fields.String()


def article_output(row: Row | SimpleNamespace, with_body: bool = True) -> dict:
    """The article of a row of the article statements (queries.py), or of one made below, as
    the API answers it; lists leave the body out (article_summary_output), as the spec's
    MultipleArticlesResponse does.

    A function, not a marshmallow schema: a page of articles is the API's hottest path, and
    dumping it through a schema cost a tenth of the request. ArticleOutput documents it, and
    the contract test checks this shape against the spec. A Row's columns are read through its
    mapping: `row.slug` first fails as a plain attribute (an AttributeError made and dropped)
    before the Row looks the name up, which cost a seventh of an uncached page.
    """
    columns = row._mapping if isinstance(row, Row) else vars(row)
    article = {
        "slug": columns["slug"],
        "title": columns["title"],
        "description": columns["description"],
    }
    if with_body:
        article["body"] = columns["body"]
    article["tagList"] = raw_json(columns["tag_list"])  # JSON kept sorted on the row (services.py)
    article["createdAt"] = columns["created_at"]  # formatted by the statement (api_timestamp)
    article["updatedAt"] = columns["updated_at"]
    article["favorited"] = bool(columns["favorited"])
    article["favoritesCount"] = columns["favorites_count"]
    article["author"] = {
        "username": columns["username"],
        "bio": columns["bio"],
        "image": columns["image"],
        "following": bool(columns["following"]),
    }
    return article


def article_summary_output(row: Row) -> dict:
    """An article in a list: article_output without the body."""
    return article_output(row, with_body=False)


def written(article: Article) -> dict:
    """The columns of a just-written article, as the article statements give them."""
    return {
        "slug": article.slug,
        "title": article.title,
        "description": article.description,
        "body": article.body,
        "tag_list": article.tag_list,
        "created_at": iso_timestamp(article.created_at),
        "updated_at": iso_timestamp(article.updated_at),
    }


def replaced(row: Row | SimpleNamespace, **changes: Any) -> SimpleNamespace:
    """`row` (of the article statements, or made here) with `changes`, without reading it
    again: what article_output dumps."""
    columns = vars(row) if isinstance(row, SimpleNamespace) else row._asdict()
    return SimpleNamespace(**{**columns, **changes})


def new_article_row(article: Article, author) -> SimpleNamespace:
    """A just-created article as its author sees it: no favorites yet, and nobody follows
    themselves."""
    return SimpleNamespace(
        **written(article),
        favorited=False,
        favorites_count=0,
        username=author.username,
        bio=author.bio,
        image=author.image,
        following=False,
    )


def with_favorite(seen: Row, favorited: bool, change: int) -> SimpleNamespace:
    """`seen` (as the viewer read it) once the viewer has (un)favorited it: `change` is +1 or -1
    when that changed the count, else 0."""
    return replaced(seen, favorited=favorited, favorites_count=seen.favorites_count + change)


def article_event(row: Row | SimpleNamespace) -> dict:
    """The data of an article's event: the article as a viewer without an account sees it,
    nothing favorited or followed."""
    article = article_output(row)
    article["tagList"] = json.loads(row.tag_list)  # events are written by the json module
    article["favorited"] = article["author"]["following"] = False
    return {"article": article}
