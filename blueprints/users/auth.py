"""Who is calling: the user an `Authorization: Token <jwt>` header names, for the views."""

from dataclasses import dataclass
from functools import wraps

from flask import g, request
from sqlalchemy import bindparam, select

from app.cache import remembered
from app.errors import ApiError
from app.extensions import db
from app.openapi import OPTIONAL_TOKEN, TOKEN, secured
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
    claims = read_token(token.strip()) if scheme.lower() in AUTH_SCHEMES else None
    # The user's id only: a key holds across their sessions (a new token after a password change).
    return f"user:{claims[0]}" if claims is not None else None


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


@dataclass(frozen=True)
class Viewer:
    """The caller of a read, as reads need them: who they are, and the generation of tokens
    still valid for them."""

    id: int
    token_generation: int


_VIEWER = select(User.id, User.token_generation).where(User.id == bindparam("id"))


def _viewer(user_id: int) -> Viewer | None:
    """What a read needs of the token's user; None if there is no such user."""
    row = db.session.execute(_VIEWER, {"id": user_id}).first()
    return Viewer(row.id, row.token_generation) if row is not None else None


def authenticated_viewer() -> Viewer | None:
    """authenticated_user for reads: the viewer the token names, kept by the read cache (no
    lookup of its own per request), which any committed change to users (a revocation that
    moves token_generation included) invalidates at once in every process; looked up each time
    when there is no read cache or Redis cannot be reached.
    """
    token = _token_from_header()
    if token is None:
        return None
    claims = read_token(token)
    viewer = None
    if claims is not None:
        user_id = claims[0]
        viewer = remembered(("viewer", user_id), lambda: _viewer(user_id))
    # A token of an earlier generation was revoked (password change, revoke-tokens).
    if viewer is None or viewer.token_generation != claims[1]:
        raise ApiError(401, "is invalid or expired", field="token")
    g.token = token
    return viewer


def accepts_viewer(api_function):
    """Pass the Viewer of a read, or None for an anonymous request; 401 for a bad token."""

    @wraps(api_function)
    def decorated_accepts_viewer_function(*args, **kwargs):
        return api_function(authenticated_viewer(), *args, **kwargs)

    return secured(decorated_accepts_viewer_function, OPTIONAL_TOKEN)


def requires_viewer(api_function):
    """Pass the Viewer of a read as the first argument; 401 without a valid token."""

    @wraps(api_function)
    def decorated_requires_viewer_function(*args, **kwargs):
        viewer = authenticated_viewer()
        if viewer is None:
            raise ApiError(401, "is missing", field="token")
        return api_function(viewer, *args, **kwargs)

    return secured(decorated_requires_viewer_function, TOKEN)


def requires_user(api_function):
    """Pass the authenticated user as the first argument; 401 without a valid token."""

    @wraps(api_function)
    def decorated_requires_user_function(*args, **kwargs):
        user = authenticated_user()
        if user is None:
            raise ApiError(401, "is missing", field="token")
        return api_function(user, *args, **kwargs)

    return secured(decorated_requires_user_function, TOKEN)


def accepts_user(api_function):
    """Pass the authenticated user, or None for an anonymous request; 401 for a bad token."""

    @wraps(api_function)
    def decorated_accepts_user_function(*args, **kwargs):
        return api_function(authenticated_user(), *args, **kwargs)

    return secured(decorated_accepts_user_function, OPTIONAL_TOKEN)
