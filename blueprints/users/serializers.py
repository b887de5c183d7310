"""Users' input (load) and output (dump) schemas."""

from dataclasses import dataclass

from marshmallow import Schema, ValidationError, fields, validate

from app.schemas import InputSchema
from app.security import issue_token

from .identity import (
    mixes_confusable_scripts,
    normalized_email,
    normalized_username,
)
from .models import EMAIL_MAX_LENGTH, IMAGE_MAX_LENGTH, USERNAME_MAX_LENGTH, User
from .passwords import PASSWORD_MAX_LENGTH, validate_password

BIO_MAX_LENGTH = 10_000


def _blank_if_none(value):
    return "" if value is None else value


def _username(value):
    return normalized_username(value.strip()) if isinstance(value, str) else value


def _not_confusable(username: str) -> None:
    if mixes_confusable_scripts(username):
        raise ValidationError("mixes scripts in a way that imitates other names")


def username_field(**kwargs) -> fields.String:
    """A username: NFKC-normalised, letters of any one script, digits, '.', '-', '_'."""
    return fields.String(
        validate=[
            validate.Length(min=1, max=USERNAME_MAX_LENGTH),
            validate.Regexp(r"^[\w.-]+$", error="may contain only letters, digits, '.', '-', '_'"),
            _not_confusable,
        ],
        pre_load=_username,
        **kwargs,
    )


class NormalizedEmail(fields.String):
    """An email address in its one stored form (identity.normalized_email)."""

    default_error_messages = {"invalid": "is invalid"}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return normalized_email(text.strip())
        except ValueError:
            raise self.make_error("invalid") from None


def email_field(**kwargs) -> fields.String:
    return NormalizedEmail(validate=validate.Length(max=EMAIL_MAX_LENGTH), **kwargs)


def password_field(**kwargs) -> fields.String:
    """A new password: the policy of passwords.py decides (422 on `password` saying why)."""
    return fields.String(validate=validate_password, **kwargs)


class RegistrationInput(InputSchema):
    username = username_field(required=True)
    email = email_field(required=True)
    password = password_field(required=True)


class LoginInput(InputSchema):
    email = fields.String(required=True, validate=validate.Length(max=EMAIL_MAX_LENGTH))
    password = fields.String(required=True, validate=validate.Length(max=PASSWORD_MAX_LENGTH))


class UserUpdateInput(InputSchema):
    username = username_field()
    email = email_field()
    password = password_field()
    bio = fields.String(
        allow_none=True, pre_load=_blank_if_none, validate=validate.Length(max=BIO_MAX_LENGTH)
    )
    image = fields.String(
        allow_none=True, pre_load=_blank_if_none, validate=validate.Length(max=IMAGE_MAX_LENGTH)
    )


@dataclass(frozen=True)
class SignedIn:
    """A user and a token of theirs: what the users routes answer."""

    user: User
    token: str

    @classmethod
    def new(cls, user: User) -> "SignedIn":
        """`user` with a token issued now."""
        return cls(user, issue_token(user.id, user.token_generation))


class AuthenticatedUserOutput(Schema):
    """The user with their token, as the users routes answer (dumps a SignedIn)."""

    email = fields.String(attribute="user.email")
    username = fields.String(attribute="user.username")
    bio = fields.String(attribute="user.bio")
    image = fields.String(attribute="user.image")
    token = fields.String()
