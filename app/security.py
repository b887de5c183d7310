"""Password hashing (argon2id) and access tokens (JWT, HS256 only)."""

from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

JWT_ALGORITHM = "HS256"
MAX_ID = 2**31 - 1  # ids are 32-bit integer keys on every database


def _password_hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=config["PASSWORD_HASH_TIME_COST"],
        memory_cost=config["PASSWORD_HASH_MEMORY_KIB"],
        parallelism=1,
    )


def hash_password(password: str) -> str:
    """An argon2id hash of `password`, salted, with the configured cost."""
    return _password_hasher().hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    """Whether `password` is the one `password_hash` was made from."""
    try:
        return _password_hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def issue_token(user_id: int) -> str:
    """A signed access token for `user_id` that expires after the configured lifetime."""
    now = datetime.now(UTC)
    lifetime = timedelta(seconds=current_app.config["JWT_LIFETIME_SECONDS"])
    claims = {"sub": str(user_id), "iat": now, "exp": now + lifetime}
    return jwt.encode(claims, current_app.config["SECRET_KEY"], algorithm=JWT_ALGORITHM)


def read_token(token: str) -> int | None:
    """The user id in a valid, unexpired token of ours; None for anything else."""
    try:
        claims = jwt.decode(
            token,
            current_app.config["SECRET_KEY"],
            algorithms=[JWT_ALGORITHM],
            options={"require": ["exp", "sub"]},
        )
        user_id = int(claims["sub"])
    except (jwt.InvalidTokenError, ValueError):
        return None
    return user_id if 0 < user_id <= MAX_ID else None
