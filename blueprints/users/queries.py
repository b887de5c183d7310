"""Finding users: by email (logging in), by username (profiles), and who holds a unique value."""

from typing import Any

from app.extensions import db

from .identity import normalized_email, username_key
from .models import User


def find_user_by_email(email: str) -> User | None:
    """The user whose address is `email` once normalised; None for no user or no address."""
    try:
        address = normalized_email(email.strip())
    except ValueError:
        return None
    return db.session.scalar(db.select(User).filter_by(email=address))


def find_user_by_username(username: str) -> User | None:
    """The user called exactly `username`; None if there is none."""
    return db.session.scalar(db.select(User).filter_by(username=username))


def _clash(column, value: str, user_id: int | None) -> bool:
    """Whether a user other than `user_id` has `value` in `column`, committed by a concurrent
    request included: a locking read sees the latest rows, where this transaction's snapshot
    (REPEATABLE READ, taken at its first read) would not. A shared lock, the one the failed
    write already holds on that index entry: nothing to upgrade."""
    clash = db.select(User.id).filter(column == value)
    if user_id is not None:
        clash = clash.filter(User.id != user_id)
    return db.session.scalar(clash.limit(1).with_for_update(read=True)) is not None


def taken_fields(values: dict[str, Any], user_id: int | None) -> dict[str, list[str]]:
    """Which of `values`' unique fields a user other than `user_id` already has (a username
    also clashes with a look-alike of itself)."""
    taken = {}
    if "email" in values and _clash(User.email, values["email"], user_id):
        taken["email"] = ["has already been taken"]
    username = values.get("username")
    if username is not None and _clash(User.username_key, username_key(username), user_id):
        exact = _clash(User.username, username, user_id)
        taken["username"] = [
            "has already been taken" if exact else "is too similar to an existing username"
        ]
    return taken
