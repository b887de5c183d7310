"""Marshmallow pieces shared by the services' serializers."""

import copy
from datetime import UTC, datetime

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate

from .security import MAX_ID

MAX_PAGE_SIZE = 100
LIMIT_MESSAGE = f"must be an integer from 1 to {MAX_PAGE_SIZE}"
OFFSET_MESSAGE = "must be an integer of at least 0"

# Every validation message in one voice, ours ("is required", "must be a string"), in place of
# marshmallow's default sentences ("Missing data for required field."), which InputSchema
# replaces on each of its fields (and their items) when it binds them.
HOUSE_MESSAGES = {
    "Missing data for required field.": "is required",
    "Field may not be null.": "must not be null",
    "Invalid value.": "is invalid",
    "Not a valid string.": "must be a string",
    "Not a valid utf-8 string.": "must be valid UTF-8 text",
    "Not a valid list.": "must be a list",
    "Not a valid integer.": "must be an integer",
    "Not a valid number.": "must be a number",
    "Number too large.": "is too large",
    "Not a valid boolean.": "must be true or false",
    "Not a valid mapping type.": "must be an object",
    "Invalid input type.": "must be an object",
}
LENGTH_MESSAGES = {  # validate.Length's, by what is counted
    "characters": {
        "message_min": "must be at least {min} characters",
        "message_max": "must be at most {max} characters",
        "message_all": "must be {min} to {max} characters",
        "message_equal": "must be exactly {equal} characters",
    },
    "items": {
        "message_min": "must have at least {min} items",
        "message_max": "must have at most {max} items",
        "message_all": "must have {min} to {max} items",
        "message_equal": "must have exactly {equal} items",
    },
}
RANGE_MESSAGES = {
    "message_min": "must be at least {min}",
    "message_max": "must be at most {max}",
    "message_all": "must be from {min} to {max}",
}


def speak_house_voice(field: fields.Field) -> None:
    """Replace marshmallow's default messages of `field`, its validators' and its items'."""
    # The field is the schema's own copy; its validators may be shared: copied before changing.
    field.error_messages = {
        key: HOUSE_MESSAGES.get(message, message) for key, message in field.error_messages.items()
    }
    counted = "items" if isinstance(field, fields.List) else "characters"
    field.validators = [
        _in_house_voice(validator, LENGTH_MESSAGES[counted]) for validator in field.validators
    ]
    if isinstance(field, fields.List):
        speak_house_voice(field.inner)


def _in_house_voice(validator, length_messages: dict[str, str]):
    """A copy of `validator` in the house voice when it is marshmallow's Length or Range
    without a message of its own; else `validator`."""
    if isinstance(validator, validate.Length | validate.Range) and validator.error is None:
        validator = copy.copy(validator)
        house = length_messages if isinstance(validator, validate.Length) else RANGE_MESSAGES
        vars(validator).update(house)
    return validator


class InputSchema(Schema):
    """Input ignores fields it does not know (clients send whole objects back); its messages
    are in the house voice."""

    class Meta:
        unknown = EXCLUDE

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        speak_house_voice(field_obj)


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
    """The paging arguments of a list."""

    limit = fields.Integer(
        load_default=20,
        validate=validate.Range(min=1, max=MAX_PAGE_SIZE, error=LIMIT_MESSAGE),
        error_messages={"invalid": LIMIT_MESSAGE},
        metadata={"description": "How many items to return"},
    )
    offset = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, error=OFFSET_MESSAGE),
        error_messages={"invalid": OFFSET_MESSAGE},
        metadata={"description": "How many items to skip"},
    )

    @post_load
    def within_ids(self, page: dict, **kwargs) -> dict:
        # Ids are 32-bit, so no page starts further on; the databases refuse larger offsets.
        return {**page, "offset": min(page["offset"], MAX_ID)}
