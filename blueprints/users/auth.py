"""Who is calling: the user an `Authorization: Token <jwt>` header names, for the views."""

from functools import wraps

from flask import g, request

from app.errors import ApiError
from app.extensions import db
from app.security import read_token

from .models import User

AUTH_SCHEMES = {"token", "bearer"}


def _token_from_header() -> str | None:
    """The token of `Authorization: Token <jwt>` (or Bearer); None when there is no header."""
    header = request.headers.get("Authorization", "").strip()
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() not in AUTH_SCHEMES or not token.strip():
        raise ApiError(401, "use the header Authorization: Token <token>", field="token")
    return token.strip()


def token_owner() -> str | None:
    """Whose Idempotency-Keys the request's are: "user:<id>" of a valid token, else None."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    user_id = read_token(token.strip()) if scheme.lower() in AUTH_SCHEMES else None
    return f"user:{user_id}" if user_id is not None else None


def authenticated_user() -> User | None:
    """The user the request's token names; None without a token; 401 for a bad one."""
    token = _token_from_header()
    if token is None:
        return None
    claims = read_token(token)
    user = db.session.get(User, claims[0]) if claims is not None else None
    # A token of an earlier generation was revoked (password change, revoke-tokens).
    if user is None or user.token_generation != claims[1]:
        raise ApiError(401, "is invalid or expired", field="token")
    g.token = token
    return user


def requires_user(api_function):
    """Pass the authenticated user as the first argument; 401 without a valid token."""

    @wraps(api_function)
    def decorated_requires_user_function(*args, **kwargs):
        user = authenticated_user()
        if user is None:
            raise ApiError(401, "is missing", field="token")
        return api_function(user, *args, **kwargs)

    return decorated_requires_user_function


def accepts_user(api_function):
    """Pass the authenticated user, or None for an anonymous request; 401 for a bad token."""

    @wraps(api_function)
    def decorated_accepts_user_function(*args, **kwargs):
        return api_function(authenticated_user(), *args, **kwargs)

    return decorated_accepts_user_function
