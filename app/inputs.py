"""Reading request input strictly: JSON bodies in RealWorld envelopes, paging arguments."""

import json
from typing import Any

from flask import request
from werkzeug.routing import IntegerConverter

from .errors import ApiError
from .security import MAX_ID

MAX_PAGE_SIZE = 100


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def request_body() -> bytes:
    """The raw body; 413 when it is over MAX_CONTENT_LENGTH, chunked bodies included."""
    body = request.get_data(cache=True)
    limit = request.max_content_length
    # Without a Content-Length, Werkzeug stops reading at the limit instead of refusing.
    if request.content_length is None and limit is not None and len(body) >= limit:
        raise ApiError(413, "request body too large")
    return body


def request_json(envelope: str) -> dict[str, Any]:
    """The object inside `envelope` of the JSON body (`{"user": {...}}` gives the user)."""
    if not request.is_json:
        raise ApiError(415, "Content-Type must be application/json")
    try:
        payload = json.loads(request_body(), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ApiError(422, "request body is not valid JSON") from None
    if not isinstance(payload, dict) or envelope not in payload:
        raise ApiError(422, "is required", field=envelope)
    if not isinstance(payload[envelope], dict):
        raise ApiError(422, "must be an object", field=envelope)
    return payload[envelope]


def query_int(name: str, default: int, minimum: int, maximum: int | None = None) -> int:
    """An integer query argument within [minimum, maximum], or a 422 naming the argument."""
    raw = request.args.get(name)
    if raw is None:
        return default
    bounds = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
    try:
        value = int(raw.strip(), 10)
    except ValueError:
        raise ApiError(422, f"must be an integer {bounds}", field=name) from None
    if value < minimum or (maximum is not None and value > maximum):
        raise ApiError(422, f"must be an integer {bounds}", field=name)
    return value


def page_arguments() -> tuple[int, int]:
    """`limit` (1..100, default 20) and `offset` (>= 0, default 0) of a list request."""
    limit = query_int("limit", default=20, minimum=1, maximum=MAX_PAGE_SIZE)
    # Ids are 32-bit, so no page starts further on; the databases refuse larger offsets.
    offset = min(query_int("offset", default=0, minimum=0), MAX_ID)
    return limit, offset


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: at most ten digits, as every id is (32-bit keys). A longer
    number matches no route (404) instead of reaching the database, which cannot even compare
    it (SQLite stops at 64 bits)."""

    regex = r"\d{1,10}"
