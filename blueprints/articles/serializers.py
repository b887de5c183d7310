"""Articles' input (load) and output (dump) schemas."""

from marshmallow import Schema, fields, validate
from sqlalchemy import Row

from app.schemas import (
    InputSchema,
    PageQuery,
    ProfileOutput,
    Timestamp,
    iso_timestamp,
    not_blank,
    strip,
)
from blueprints.profiles.serializers import profile_of
from blueprints.tags.models import TAG_MAX_LENGTH

from .models import BODY_MAX_LENGTH, DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH, Article
from .queries import tag_names

MAX_TAGS = 20


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


new_article_input = NewArticleInput()
article_update_input = ArticleUpdateInput()


class ArticleListQuery(PageQuery):
    """The filters of the articles list; an empty value filters nothing."""

    tag = fields.String(metadata={"description": "Only articles with this tag"})
    author = fields.String(metadata={"description": "Only articles by this username"})
    favorited = fields.String(metadata={"description": "Only articles this username favorited"})


class ArticleSummaryOutput(Schema):
    """An article in a list: article_output(row, with_body=False) (documents its shape)."""

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
    """One article, body included: article_output(row) (documents its shape)."""

    body = fields.String()


def article_output(row: Row, with_body: bool = True) -> dict:
    """The article of a row of the article statements (queries.py), as the API answers it;
    lists leave the body out (with_body=False), as the spec's MultipleArticlesResponse does.

    A function, not a marshmallow schema: a page of articles is the API's hottest path, and
    dumping it through a schema cost a tenth of the request. The contract test checks this
    shape against the spec.
    """
    article = {"slug": row.slug, "title": row.title, "description": row.description}
    if with_body:
        article["body"] = row.body
    article["tagList"] = tag_names(row.tag_list)
    article["createdAt"] = row.created_at  # formatted by the statement (queries.api_timestamp)
    article["updatedAt"] = row.updated_at
    article["favorited"] = bool(row.favorited)
    article["favoritesCount"] = row.favorites_count
    article["author"] = {
        "username": row.username,
        "bio": row.bio,
        "image": row.image,
        "following": bool(row.following),
    }
    return article


def _written_fields(article: Article) -> dict:
    """The fields of a just-written article, as article_output writes them."""
    return {
        "slug": article.slug,
        "title": article.title,
        "description": article.description,
        "body": article.body,
        "createdAt": iso_timestamp(article.created_at),
        "updatedAt": iso_timestamp(article.updated_at),
    }


def new_article_output(article: Article, tags: list[str], author) -> dict:
    """A just-created article as its author sees it, without reading it again: no favorites
    yet, and nobody follows themselves."""
    return {
        **_written_fields(article),
        "tagList": tag_names(article.tag_list),
        "favorited": False,
        "favoritesCount": 0,
        "author": profile_of(author, False),
    }


def changed_article_output(seen: Row, article: Article, tags: list[str] | None) -> dict:
    """`seen` (the article as the writer read it before changing it) with the changes made to
    `article` (and its tags, when they were replaced), without reading it again."""
    output = {**article_output(seen), **_written_fields(article)}
    if tags is not None:
        output["tagList"] = tag_names(article.tag_list)
    return output


def with_favorite(seen: Row, favorited: bool, change: int) -> dict:
    """`seen` (as the viewer read it) once the viewer has (un)favorited it: `change` is +1 or -1
    when that changed the count, else 0."""
    return {
        **article_output(seen),
        "favorited": favorited,
        "favoritesCount": seen.favorites_count + change,
    }


def as_anonymous(article: dict) -> dict:
    """`article` (dumped) as a viewer without an account sees it: nothing favorited or followed."""
    return {**article, "favorited": False, "author": {**article["author"], "following": False}}
