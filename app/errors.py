"""Every error becomes JSON of one shape: `{"errors": {"<field>": ["<message>", ...]}}`.

Errors that are not about one field use the key `body`, as the RealWorld API does.
"""

import logging
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, jsonify, request
from marshmallow import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

from .extensions import db
from .sentry import report_exception
from .sessions import READ_METHODS
from .transactions import LOCK_WAIT_TIMEOUT, database_error_codes

log = logging.getLogger(__name__)

T = TypeVar("T")

HTTP_MESSAGES = {
    400: "bad request",
    401: "authentication required",
    403: "not allowed",
    404: "not found",
    405: "method not allowed",
    413: "request body too large",
    415: "unsupported media type",
}


# MariaDB's numbers for a server that cannot be reached or did not answer in time: the client
# errors 2002/2003 (cannot connect), 2005 (unknown host), 2006 (gone away), 2013/2055 (lost
# during a query: also our read timeout), and the server's 1040 (too many connections), 1053
# (shutting down), 1927 (connection killed), 1969 (max_statement_time). A lock wait that still
# times out after the retries (1205) is a timeout too: nothing was written, a later try works.
UNREACHABLE_MARIADB_ERRORS = {
    *(2002, 2003, 2005, 2006, 2013, 2055),
    *(1040, 1053, 1927, 1969, LOCK_WAIT_TIMEOUT),
}
# SQLite's primary result codes: SQLITE_BUSY (the lock was not free within the busy timeout),
# SQLITE_CANTOPEN (the file cannot be opened).
UNREACHABLE_SQLITE_ERRORS = {5, 14}
# PyMySQL's InterfaceError(0, '') is a query on a connection that was lost.
LOST_CONNECTION = 0


class ApiError(Exception):
    """An error the client can act on: `status`, and a message about `field` (or `errors`)."""

    def __init__(
        self,
        status: int,
        message: str = "",
        field: str = "body",
        errors: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.errors = errors or {field: [message]}
        self.headers = headers or {}
        super().__init__(self.errors)


def found(value: T | None, what: str) -> T:
    """`value`, or a 404 `{"errors": {"body": ["<what> not found"]}}` when it is None."""
    if value is None:
        raise ApiError(404, f"{what} not found")
    return value


def error_response(status: int, errors: dict[str, list[str]]) -> Response:
    """The JSON error response every handler answers with."""
    response = jsonify({"errors": errors})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = "Token"
    return response


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Marshmallow's nested messages as `{"field": [...]}`, nested fields as `field.sub`; the
    errors of a list's items are the list's (`tagList`, not `tagList.1`: the field a client
    can show them beside), each message once."""
    if not isinstance(messages, dict):
        items = messages if isinstance(messages, list) else [messages]
        return {prefix or "body": [str(item) for item in items]}
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        if isinstance(key, int) and prefix:
            name = prefix
        else:
            name = "body" if key == "_schema" and not prefix else str(key)
            name = f"{prefix}.{name}" if prefix else name
        for field, texts in flatten_messages(value, name).items():
            known = flat.setdefault(field, [])
            known.extend(text for text in texts if text not in known)
    return flat


def handle_api_error(error: ApiError) -> Response:
    response = error_response(error.status, error.errors)
    response.headers.update(error.headers)
    return response


def handle_validation_error(error: ValidationError) -> Response:
    return error_response(422, flatten_messages(error.messages))


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    message = HTTP_MESSAGES.get(status) or (error.description or error.name).rstrip(".").lower()
    response = error_response(status, {"body": [message]})
    if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
        response.headers["Allow"] = ", ".join(sorted(error.valid_methods))  # type: ignore[attr-defined]
    return response


def database_unreachable(error: DBAPIError) -> bool:
    """Whether `error` says the database cannot be reached or did not answer in time (a 503),
    rather than that our SQL or data is wrong (a bug: a 500 that Sentry sees)."""
    if error.connection_invalidated:
        return True
    sqlite_code = getattr(error.orig, "sqlite_errorcode", None)
    if sqlite_code is not None:
        return sqlite_code & 0xFF in UNREACHABLE_SQLITE_ERRORS
    codes = database_error_codes(error)
    return bool(codes) and (
        codes[0] in UNREACHABLE_MARIADB_ERRORS
        or (codes[0] == LOST_CONNECTION and type(error.orig).__name__ == "InterfaceError")
    )


def handle_database_error(error: DBAPIError) -> Response:
    """503 when the database cannot be reached or timed out; any other database error is a bug."""
    if database_unreachable(error):
        return handle_database_unavailable(error)
    return handle_unexpected_error(error)


def handle_database_unavailable(error: Exception) -> Response:
    """The database is down, restarting or overloaded: the client may retry shortly.

    A read that met a dead pooled connection (the database restarted since the connection was
    last used; it is not pinged before each use, see app/engines.py) runs once more: the pool
    has dropped that connection and its peers, and a read changed nothing.
    """
    db.session.rollback()
    replica = g.get("database_replica")
    if replica is not None and request.method in READ_METHODS:
        # The replica chosen for this read went away: skip it, and read from the primary.
        replica.read_failed(error)
        g.database_replica = None
        log.info("request %s: replica unreachable, read from the primary", g.get("request_id", "-"))
        return redispatch()
    if (
        getattr(error, "connection_invalidated", False)
        and request.method in READ_METHODS
        and not g.get("database_retried")
    ):
        g.database_retried = True
        log.info("request %s: dead database connection, read again", g.get("request_id", "-"))
        return redispatch()
    log.warning("database unavailable in request %s: %s", g.get("request_id", "-"), error)
    response = error_response(503, {"database": ["unavailable, try again shortly"]})
    response.headers["Retry-After"] = "5"
    return response


def redispatch() -> Response:
    """Run the request's view once more (a read: it changed nothing)."""
    try:
        return current_app.make_response(current_app.dispatch_request())
    except Exception as again:
        return current_app.make_response(current_app.handle_user_exception(again))


def handle_unexpected_error(error: Exception) -> Response:
    db.session.rollback()
    report_exception(error)  # the log line below is then not reported twice
    log.exception("unhandled error in request %s", g.get("request_id", "-"))
    return error_response(500, {"body": ["internal server error"]})


def register_error_handlers(app: Flask) -> None:
    """Make every error of `app` answer in JSON of the one shape."""
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(ValidationError, handle_validation_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DBAPIError, handle_database_error)
    # No connection came free in the pool's timeout: the database is too slow to answer.
    app.register_error_handler(PoolTimeoutError, handle_database_unavailable)
    app.register_error_handler(Exception, handle_unexpected_error)
