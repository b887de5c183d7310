"""Finding users: by email (logging in), by username (profiles), and who holds a unique value."""

from typing import Any

from app.extensions import db

from .models import User

UNIQUE_FIELDS = ("email", "username")


def find_user_by_email(email: str) -> User | None:
    """The user with `email` (stored lowercase); None if there is none."""
    return db.session.scalar(db.select(User).filter_by(email=email.strip().lower()))


def find_user_by_username(username: str) -> User | None:
    """The user called exactly `username`; None if there is none."""
    return db.session.scalar(db.select(User).filter_by(username=username))


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
