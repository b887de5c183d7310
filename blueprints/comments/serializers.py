"""Comments' input (load) and output (dump) schemas."""

from marshmallow import Schema, fields, validate

from app.schemas import InputSchema, ProfileOutput, Timestamp, not_blank

from .models import COMMENT_MAX_LENGTH


class NewCommentInput(InputSchema):
    body = fields.String(
        required=True, validate=[not_blank, validate.Length(max=COMMENT_MAX_LENGTH)]
    )


class CommentOutput(Schema):
    id = fields.Integer()
    createdAt = Timestamp(attribute="created_at")
    updatedAt = Timestamp(attribute="updated_at")
    body = fields.String()
    author = fields.Nested(ProfileOutput)


comment_output = CommentOutput()


def as_anonymous(comment: dict) -> dict:
    """`comment` (dumped) as a viewer without an account sees it: its author not followed."""
    return {**comment, "author": {**comment["author"], "following": False}}
