"""Factories: rows a test needs, created through the services' own code and committed."""

from itertools import count

from app.extensions import db
from blueprints.users.models import User
from blueprints.users.services import register_user

DEFAULT_PASSWORD = "correct horse battery staple"
_sequence = count(1)


def make_user(username: str | None = None, email: str | None = None, **fields) -> User:
    """A registered user (password DEFAULT_PASSWORD unless given), committed."""
    number = next(_sequence)
    username = username or f"user{number}"
    user = register_user(
        username=username,
        email=email or f"{username}@example.com",
        password=fields.pop("password", DEFAULT_PASSWORD),
    )
    for field, value in fields.items():
        setattr(user, field, value)
    db.session.commit()
    return user
