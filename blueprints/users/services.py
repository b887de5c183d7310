"""Creating and changing users with unique emails and usernames, races included; logging in."""

from typing import Any

from app.errors import ApiError
from app.extensions import db
from app.replicas import remember_writes_of
from app.security import hash_password, password_matches, spend_password_check
from app.transactions import write_in_savepoint

from .models import User
from .queries import find_user_by_email, taken_fields

# Changing either ends every session: tokens issued before stop working.
CREDENTIAL_FIELDS = ("email", "password")


def save_user(user: User, changes: dict[str, Any]) -> None:
    """Apply `changes` to `user` in a savepoint; a clash on a unique field is a 422.

    The unique indexes decide, so two concurrent registrations of one email cannot both win;
    the loser's savepoint rolls back and the rest of the transaction stays intact.
    """
    changes = dict(changes)
    if user.id is not None and any(
        field in changes and changes[field] != getattr(user, field, None)
        for field in CREDENTIAL_FIELDS
    ):
        changes["token_generation"] = (user.token_generation or 0) + 1
    if "password" in changes:
        changes["password_hash"] = hash_password(changes.pop("password"))

    def write() -> None:
        for field, value in changes.items():
            setattr(user, field, value)
        db.session.add(user)

    clash = write_in_savepoint(write)
    if clash is not None:
        errors = taken_fields(changes, user.id)
        if not errors:
            raise clash
        raise ApiError(422, errors=errors)


def register_user(username: str, email: str, password: str) -> User:
    """A new user with a hashed password; 422 if the email or username is taken."""
    user = User()
    save_user(user, {"username": username, "email": email, "password": password})
    # Their token names them from now on: their next read must see them, replicas or not.
    remember_writes_of(f"user:{user.id}")
    return user


def log_in(email: str, password: str) -> User:
    """The user with this email and password; 401 for a wrong pair (which one is not said)."""
    user = find_user_by_email(email)
    if user is None:
        spend_password_check(password)  # as long as a wrong password: no account enumeration
    if user is None or not password_matches(user.password_hash, password):
        raise ApiError(401, "is invalid", field="email or password")
    return user


def revoke_tokens(user: User) -> None:
    """End every session of `user`: each token issued so far stops working."""
    db.session.execute(
        db.update(User)
        .where(User.id == user.id)
        .values(token_generation=User.token_generation + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(user)
