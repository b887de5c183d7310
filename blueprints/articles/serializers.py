"""Articles' input (load) and output (dump) schemas."""

from marshmallow import Schema, fields, validate

from app.schemas import InputSchema, Timestamp, not_blank, strip
from blueprints.profiles.serializers import ProfileOutput
from blueprints.tags.models import TAG_MAX_LENGTH

from .models import BODY_MAX_LENGTH, DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH

MAX_TAGS = 20


def _empty_if_none(value):
    return [] if value is None else value


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
    """`tagList`: at most 20 non-blank strings of at most 50 characters; null means none."""
    tag = fields.String(pre_load=strip, validate=[not_blank, validate.Length(max=TAG_MAX_LENGTH)])
    return fields.List(
        tag,
        data_key="tagList",
        allow_none=True,
        pre_load=_empty_if_none,
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


class ArticleOutput(Schema):
    slug = fields.String()
    title = fields.String()
    description = fields.String()
    body = fields.String()
    tagList = fields.List(fields.String(), attribute="tag_list")
    createdAt = Timestamp(attribute="created_at")
    updatedAt = Timestamp(attribute="updated_at")
    favorited = fields.Boolean()
    favoritesCount = fields.Integer(attribute="favorites_count")
    author = fields.Nested(ProfileOutput)


new_article_input = NewArticleInput()
article_update_input = ArticleUpdateInput()
article_output = ArticleOutput()
# Lists leave the body out, as the spec's MultipleArticlesResponse does: pages stay small.
article_list_output = ArticleOutput(exclude=("body",), many=True)


def as_anonymous(article: dict) -> dict:
    """`article` (dumped) as a viewer without an account sees it: nothing favorited or followed."""
    return {**article, "favorited": False, "author": {**article["author"], "following": False}}
