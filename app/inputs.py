"""Reading request input strictly: JSON bodies in RealWorld envelopes, ids in paths."""

import json
import re
from typing import Any

from flask import request
from werkzeug.routing import IntegerConverter

from .errors import ApiError

# JSON's \ud800-style escapes can name half of a UTF-16 pair alone: such a string is no text,
# and every encoder (the database's, the log's, the JSON response's) fails on it.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


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
    field = field_with_lone_surrogate(payload[envelope])
    if field is not None:
        raise ApiError(422, "must be valid Unicode text (it holds a lone surrogate)", field=field)
    return payload[envelope]


def field_with_lone_surrogate(value: Any, path: str = "") -> str | None:
    """The path (`title`, `author.bio`) of the first string in `value` that is not valid
    Unicode text, a key included; None when every string is valid. An item's path is its
    list's (`tagList`), as for every other error about an item."""
    if isinstance(value, str):
        return (path or "body") if LONE_SURROGATE.search(value) else None
    if isinstance(value, list):
        return next(filter(None, (field_with_lone_surrogate(item, path) for item in value)), None)
    if not isinstance(value, dict):
        return None
    for key, item in value.items():
        name = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and LONE_SURROGATE.search(key):
            return path or "body"
        found = field_with_lone_surrogate(item, name)
        if found is not None:
            return found
    return None


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: at most ten digits, as every id is (32-bit keys). A longer
    number matches no route (404) instead of reaching the database, which cannot even compare
    it (SQLite stops at 64 bits)."""

    regex = r"\d{1,10}"
