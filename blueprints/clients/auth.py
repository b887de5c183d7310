"""Which API client is calling: the `X-Client-Key` header, checked for the views and, with
CLIENT_KEY_REQUIRED on, for every request under the API's prefix."""

from functools import wraps

from flask import Flask, g, request

from app.errors import ApiError
from app.openapi import CLIENT_KEY, secured

from .models import Client
from .queries import find_client

CLIENT_KEY_HEADER = "X-Client-Key"


def client_key_owner() -> str | None:
    """Whose Idempotency-Keys the request's are: "client:<id>" of a valid X-Client-Key."""
    key = request.headers.get(CLIENT_KEY_HEADER, "").strip()
    client = find_client(key) if key else None
    return f"client:{client.id}" if client is not None and not client.revoked else None


def authenticated_client() -> Client:
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
        return api_function(authenticated_client(), *args, **kwargs)

    return secured(decorated_requires_client_key_function, CLIENT_KEY)


def require_client_key_when_configured(app: Flask, url_prefix: str) -> None:
    """With CLIENT_KEY_REQUIRED on, every request under `url_prefix` needs a valid client key.

    CORS preflights (OPTIONS) are let through: browsers never send custom headers on them.
    """

    def check_client_key() -> None:
        if not app.config["CLIENT_KEY_REQUIRED"]:
            return
        served = request._get_current_object()
        if served.method == "OPTIONS":
            return
        if served.path == url_prefix or served.path.startswith(url_prefix + "/"):
            authenticated_client()

    app.before_request(check_client_key)
