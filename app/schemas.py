"""Marshmallow pieces shared by the services' serializers."""

from datetime import UTC, datetime

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from .inputs import MAX_PAGE_SIZE


class InputSchema(Schema):
    """Input ignores fields it does not know (clients send whole objects back)."""

    class Meta:
        unknown = EXCLUDE


def strip(value):
    """`value` without surrounding whitespace when it is a string (pre_load of a field)."""
    return value.strip() if isinstance(value, str) else value


def iso_timestamp(value: datetime) -> str:
    """`value` in ISO 8601, UTC, to the millisecond: 2026-11-25T16:21:30.123Z."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Timestamp(fields.Field):
    """A timezone-aware datetime dumped as ISO 8601 UTC with milliseconds and a Z."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else iso_timestamp(value)


def not_blank(value: str) -> None:
    """A validator: the string has something besides whitespace."""
    if not value.strip():
        raise ValidationError("must not be blank")


class ProfileOutput(Schema):
    """A user's public profile, with whether the viewer follows them (several services)."""

    username = fields.String()
    bio = fields.String()
    image = fields.String()
    following = fields.Boolean()


class PageQuery(InputSchema):
    """The paging arguments of a list, as `app.inputs.page_arguments` reads them."""

    limit = fields.Integer(
        load_default=20,
        validate=validate.Range(min=1, max=MAX_PAGE_SIZE),
        metadata={"description": "How many items to return"},
    )
    offset = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0),
        metadata={"description": "How many items to skip"},
    )
