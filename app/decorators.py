"""Cross-cutting decorators, named as the original stack named them."""

from functools import wraps

from flask import Flask, g, request

from blueprints.clients.models import Client, find_client

from .errors import ApiError
from .extensions import db
from .security import read_token

AUTH_SCHEMES = {"token", "bearer"}
CLIENT_KEY_HEADER = "X-Client-Key"


def _token_from_header() -> str | None:
    """The token of `Authorization: Token <jwt>` (or Bearer); None when there is no header."""
    header = request.headers.get("Authorization", "").strip()
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() not in AUTH_SCHEMES or not token.strip():
        raise ApiError(401, "use the header Authorization: Token <token>", field="token")
    return token.strip()


def _authenticated_user():
    """The user the request's token names; None without a token; 401 for a bad one."""
    token = _token_from_header()
    if token is None:
        return None
    # Imported here: blueprints.users imports this module, so a module-level import would make
    # `import app.decorators` fail whenever it comes before `import blueprints.users`.
    from blueprints.users.models import User

    user_id = read_token(token)
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is None:
        raise ApiError(401, "is invalid or expired", field="token")
    g.token = token
    return user


def requires_user(api_function):
    """Pass the authenticated user as the first argument; 401 without a valid token."""

    @wraps(api_function)
    def decorated_requires_user_function(*args, **kwargs):
        user = _authenticated_user()
        if user is None:
            raise ApiError(401, "is missing", field="token")
        return api_function(user, *args, **kwargs)

    return decorated_requires_user_function


def accepts_user(api_function):
    """Pass the authenticated user, or None for an anonymous request; 401 for a bad token."""

    @wraps(api_function)
    def decorated_accepts_user_function(*args, **kwargs):
        return api_function(_authenticated_user(), *args, **kwargs)

    return decorated_accepts_user_function


def _authenticated_client() -> Client:
    """The client the request's X-Client-Key names; 401 for a missing, unknown or revoked key."""
    key = request.headers.get(CLIENT_KEY_HEADER, "").strip()
    if not key:
        raise ApiError(401, "is missing", field=CLIENT_KEY_HEADER)
    client = find_client(key)
    if client is None:
        raise ApiError(401, "is invalid", field=CLIENT_KEY_HEADER)
    if client.revoked:
        raise ApiError(401, "has been revoked", field=CLIENT_KEY_HEADER)
    g.client = client
    return client


def requires_client_key(api_function):
    """Pass the calling client (X-Client-Key) as the first argument; 401 without a valid key."""

    @wraps(api_function)
    def decorated_requires_client_key_function(*args, **kwargs):
        return api_function(_authenticated_client(), *args, **kwargs)

    return decorated_requires_client_key_function


def require_client_key_when_configured(app: Flask, url_prefix: str) -> None:
    """With CLIENT_KEY_REQUIRED on, every request under `url_prefix` needs a valid client key.

    CORS preflights (OPTIONS) are let through: browsers never send custom headers on them.
    """

    def check_client_key() -> None:
        if not app.config["CLIENT_KEY_REQUIRED"] or request.method == "OPTIONS":
            return
        if request.path == url_prefix or request.path.startswith(url_prefix + "/"):
            _authenticated_client()

    app.before_request(check_client_key)
