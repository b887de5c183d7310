"""Responses shared by the services' routes, and the JSON that answers are written in."""

from typing import Any

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider

# What orjson writes itself is what Flask's encoder writes (compact, keys in the order given);
# datetimes and dataclasses go to Flask's own conversion, as before.
ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class FastJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, writing with orjson: encoding a page of articles was a sixth of
    the instructions of an uncached list request. Non-ASCII text is written as UTF-8 where
    Flask escaped it (the same JSON); what orjson refuses (an integer past 64 bits, a lone
    surrogate) Flask's encoder writes, so no answer fails that did not before. Only orjson
    splices `raw_json`: an answer that carries it holds nothing else orjson refuses.
    """

    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return self.dump_bytes(obj, **kwargs).decode()

    def dump_bytes(self, obj: Any, indent: int | None = None, **kwargs: Any) -> bytes:
        if not kwargs:
            option = ORJSON_OPTIONS | (orjson.OPT_INDENT_2 if indent else 0)
            try:
                return orjson.dumps(obj, default=self.default, option=option)
            except orjson.JSONEncodeError:
                pass
        return super().dumps(obj, indent=indent, **kwargs).encode()

    def response(self, *args: Any, **kwargs: Any) -> Response:
        pretty = self.compact is False or (self.compact is None and self._app.debug)
        body = self.dump_bytes(
            self._prepare_response_obj(args, kwargs), indent=2 if pretty else None
        )
        return self._app.response_class(body + b"\n", mimetype=self.mimetype)


def raw_json(text: str | bytes) -> orjson.Fragment:
    """`text`, already JSON, written as it is into an answer."""
    return orjson.Fragment(text)


def no_content() -> Response:
    """204 No Content: no body, and so no Content-Type."""
    response = Response(status=204)
    response.headers.remove("Content-Type")
    return response
