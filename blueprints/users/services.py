"""Creating and changing users with unique emails and usernames, races included."""

from typing import Any

from sqlalchemy.exc import IntegrityError

from app.errors import ApiError
from app.extensions import db
from app.security import hash_password

from .models import User

UNIQUE_FIELDS = ("email", "username")


def taken_fields(values: dict[str, Any], user_id: int | None) -> dict[str, list[str]]:
    """Which of `values`' unique fields a user other than `user_id` already has."""
    taken = {}
    for field in UNIQUE_FIELDS:
        if field not in values:
            continue
        clash = db.select(User.id).filter(getattr(User, field) == values[field])
        if user_id is not None:
            clash = clash.filter(User.id != user_id)
        if db.session.scalar(clash.limit(1)) is not None:
            taken[field] = ["has already been taken"]
    return taken


def save_user(user: User, changes: dict[str, Any]) -> None:
    """Apply `changes` to `user` in a savepoint; a clash on a unique field is a 422.

    The unique indexes decide, so two concurrent registrations of one email cannot both win;
    the loser's savepoint rolls back and the rest of the transaction stays intact.
    """
    changes = dict(changes)
    if "password" in changes:
        changes["password_hash"] = hash_password(changes.pop("password"))
    try:
        with db.session.begin_nested():
            for field, value in changes.items():
                setattr(user, field, value)
            db.session.add(user)
    except IntegrityError:
        errors = taken_fields(changes, user.id)
        if not errors:
            raise
        raise ApiError(422, errors=errors) from None


def register_user(username: str, email: str, password: str) -> User:
    """A new user with a hashed password; 422 if the email or username is taken."""
    user = User()
    save_user(user, {"username": username, "email": email, "password": password})
    return user
