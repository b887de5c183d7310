"""A view's contract, declared once: `@documents(...)` reads the JSON body strictly, loads and
validates it and the query, hands them to the view, dumps its answer and sets the status; the
OpenAPI document is built from the same declarations by apispec and its marshmallow plugin
(`openapi_document`). A route without a declaration is an error: the document covers them all.

Our own decorator rather than flask-smorest's: the README says why (API documentation).
"""

import copy
import inspect
import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache, wraps
from http import HTTPStatus
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from apispec.ext.marshmallow.openapi import OpenAPIConverter
from flask import Flask, Response, request
from marshmallow import Schema, fields

from .errors import ApiError
from .responses import no_content
from .schemas import InputSchema, Timestamp

JSON = "application/json"
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
NOT_MODIFIED = "Not modified: the ETag sent in If-None-Match is still the answer's"
# Who may call an operation, as the auth decorators record it (`secured`): OpenAPI security
# alternatives, `{}` for anyone.
TOKEN = ({"Token": []},)
OPTIONAL_TOKEN = ({}, {"Token": []})
CLIENT_KEY = ({"ClientKey": []},)
# A status the RealWorld spec lists on an operation that never answers it: the document keeps
# every status of the spec (tests/docs/test_openapi.py), and says so.
SPEC_ONLY = "Not sent by this operation; listed because the RealWorld spec lists it"
# The errors a declaration implies (401 with auth; 413, 415, 422 with a body; 422 with a query),
# described once under components/responses.
IMPLIED_ERRORS = {
    401: "Missing, invalid or expired credentials",
    413: "The request body is too large",
    415: "The body is not JSON: send Content-Type: application/json",
    422: "Invalid input: each message names its field",
}
DESCRIPTION = """\
The Conduit API: the RealWorld API (users, profiles, articles, comments, tags) and signed
webhooks for API clients, plus health checks. **Errors** have one shape whatever the status:
`{"errors": {"<field>": ["<message>", ...]}}`, the key `body` when not about one field."""
SECURITY_SCHEMES = {
    "Token": (
        "Authorization",
        "`Token <token>` (or `Bearer`) from POST /api/users or /api/users/login",
    ),
    "ClientKey": ("X-Client-Key", "An API client's key (`manage.py create-client`)"),
}
# A Flask rule's variable, `<name>` or `<converter(args):name>`.
RULE_VARIABLE = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
# JSON's \ud800-style escapes can name half of a UTF-16 pair alone: such a string is no text,
# and every encoder (the database's, the log's, the JSON response's) fails on it.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
NOT_TEXT = "must be valid Unicode text (it holds a lone surrogate)"


@dataclass(frozen=True)
class Envelope:
    """A RealWorld envelope around `schema`: `{"article": {...}}`, or with `many` a list,
    `{"articles": [...], "articlesCount": n}` when `count` names the total. `dump`, when
    given, dumps one item in place of the schema (the fast path of the article pages); the
    schema still documents it, and the contract test checks the two agree."""

    key: str
    schema: type[Schema]
    many: bool = False
    count: str | None = None
    dump: Callable[[Any], dict] | None = None

    def json_schema(self) -> dict:
        """The envelope as a JSON schema, the item's schema left to apispec."""
        properties: dict[str, Any] = {self.key: self.schema}
        if self.many:
            properties[self.key] = {"type": "array", "items": self.schema}
        if self.count:
            properties[self.count] = {"type": "integer", "minimum": 0}
        closed = {} if issubclass(self.schema, InputSchema) else {"additionalProperties": False}
        return {"type": "object", "required": list(properties), "properties": properties, **closed}


class ErrorOutput(Schema):
    """Every error: `{"errors": {"<field>": ["<message>", ...]}}` (`body`: not one field)."""

    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class UndocumentedRoute(LookupError):
    """A route whose view has no `@documents` declaration."""


def documents(
    *,
    input: Envelope | None = None,
    query: type[Schema] | None = None,
    output: Envelope | type[Schema] | None = None,
    status: int = 200,
    responses: Mapping[int, str] = {},
    media_type: str = JSON,
) -> Callable:
    """Declare a view's contract, and keep it: the view is called with the loaded body (when
    `input`), then the loaded query (when `query`), after the arguments the decorators above
    it pass (the user, the path's), and returns what `output` dumps, with `status` (None for a
    204). A Response or, for another media type, anything Flask answers is passed through.

    Place it last, above the function: authentication and rate limits run before the body is
    read, and an auth decorator records who may call (`secured`). `responses` describes the
    error statuses besides those implied (IMPLIED_ERRORS).
    """
    schema = output.json_schema() if isinstance(output, Envelope) else output
    success = {"description": HTTPStatus(status).phrase}
    if schema is not None or media_type != JSON:
        success["content"] = {media_type: {"schema": schema} if schema else {}}
    errors: dict[int, Any] = {}
    operation: dict[str, Any] = {"security": []}
    if input is not None:
        body = {"schema": input.json_schema()}
        operation["requestBody"] = {"required": True, "content": {JSON: body}}
        errors.update({code: error_name(code) for code in (413, 415, 422)})
    if query is not None:
        operation["parameters"] = [{"in": "query", "schema": query}]
        errors[422] = error_name(422)
    errors.update({code: error_response(text) for code, text in responses.items()})
    operation["responses"] = {status: success, **errors}

    load_input = input.schema().load if input else None
    load_query = _query_loader(query()) if query else None
    dump = _dumper(output) if media_type == JSON else None

    def declare(view: Callable) -> Callable:
        @wraps(view)
        def decorated_documents_function(*args, **kwargs):
            if load_input:
                args = (*args, load_input(request_json(input.key)))
            if load_query:
                args = (*args, load_query(request.query_string))
            result = view(*args, **kwargs)
            if dump is None or isinstance(result, Response):
                return result
            if status == 204:
                return no_content()
            return dump(result), status

        decorated_documents_function.operation = operation  # type: ignore[attr-defined]
        return decorated_documents_function

    return declare


def secured(view: Callable, security: tuple[dict, ...]) -> Callable:
    """`view`, an auth decorator's wrapper, with who may call it recorded in the declaration it
    carries (copied by `wraps` from the view below)."""
    if hasattr(view, "operation"):
        view.operation = {**view.operation, "security": list(security)}  # type: ignore[attr-defined]
    return view


def _query_loader(schema: Schema) -> Callable[[bytes], dict]:
    """Load a query string with `schema`, each distinct one once: most list requests send one
    of a few (`?limit=20`), and the article list is the API's hottest path."""

    @lru_cache(maxsize=256)
    def load(query_string: bytes) -> dict:
        return schema.load(request.args)

    return lambda query_string: dict(load(query_string))


def _dumper(output: Envelope | type[Schema] | None) -> Callable[[Any], Any]:
    """What turns a view's result into its JSON answer."""
    if output is None:
        return lambda result: result
    if not isinstance(output, Envelope):
        return output().dump
    item, key, count = output.dump or output.schema().dump, output.key, output.count
    if not output.many:
        return lambda result: {key: item(result)}
    if count is None:
        return lambda items: {key: [item(one) for one in items]}
    return lambda page: {key: [item(one) for one in page[0]], count: page[1]}


def request_json(envelope: str) -> dict[str, Any]:
    """The object inside `envelope` of the JSON body (`{"user": {...}}` gives the user)."""
    if not request.is_json:
        raise ApiError(415, "Content-Type must be application/json")
    body = request.get_data(cache=True)
    # Without a Content-Length, Werkzeug stops reading at the limit instead of refusing.
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(body) >= limit:
        raise ApiError(413, "request body too large")
    try:
        payload = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ApiError(422, "request body is not valid JSON") from None
    if not isinstance(payload, dict) or envelope not in payload:
        raise ApiError(422, "is required", field=envelope)
    if not isinstance(payload[envelope], dict):
        raise ApiError(422, "must be an object", field=envelope)
    for key, value in payload[envelope].items():
        if LONE_SURROGATE.search(key):
            raise ApiError(422, NOT_TEXT, field="body")  # a key names no field
        for text in value if isinstance(value, list) else (value,):  # an item is its list's
            if isinstance(text, str) and LONE_SURROGATE.search(text):
                raise ApiError(422, NOT_TEXT, field=key)
    return payload[envelope]


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


class OutputAwareConverter(OpenAPIConverter):
    """apispec's converter, which also marks every property of an output schema required:
    dumping writes each field of the schema, so each is always in the response."""

    def schema2jsonschema(self, schema):
        jsonschema = super().schema2jsonschema(schema)
        if not issubclass(resolve_schema_cls(schema), InputSchema):
            jsonschema["required"] = list(jsonschema["properties"])
        return jsonschema


class ConduitMarshmallowPlugin(MarshmallowPlugin):
    Converter = OutputAwareConverter


def error_name(status: int) -> str:
    """The name of an implied error's response under components/responses: `Unauthorized`."""
    return HTTPStatus(status).name.title().replace("_", "")


def error_response(description: str) -> dict:
    return {"description": description, "content": {JSON: {"schema": ErrorOutput}}}


def openapi_document(app: Flask) -> dict:
    """The app's OpenAPI document (built once, on first use)."""
    if "openapi_document" not in app.extensions:
        app.extensions["openapi_document"] = build_document(app)
    return app.extensions["openapi_document"]


def build_document(app: Flask) -> dict:
    """Build the OpenAPI document of every route of `app` from the views' declarations."""
    from . import API_PREFIX  # app/__init__.py imports the services, which import this module

    plugin = ConduitMarshmallowPlugin()
    info = {"description": DESCRIPTION}
    spec = APISpec("Conduit API", app.config["RELEASE"], "3.1.0", [plugin], info=info)
    plugin.map_to_openapi_type(Timestamp, "string", "date-time")
    for name, (header, description) in SECURITY_SCHEMES.items():
        scheme = {"type": "apiKey", "in": "header", "name": header, "description": description}
        spec.components.security_scheme(name, scheme)
    for status, description in IMPLIED_ERRORS.items():
        spec.components.response(error_name(status), error_response(description))

    tags: dict[str, str] = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if not hasattr(view, "operation"):
            raise UndocumentedRoute(f"{rule.rule} ({rule.endpoint}) has no @documents declaration")
        tag = rule.endpoint.partition(".")[0]
        tags.setdefault(tag, module_summary(view))
        client_key_everywhere = app.config["CLIENT_KEY_REQUIRED"] and (
            rule.rule == API_PREFIX or rule.rule.startswith(API_PREFIX + "/")
        )
        for method in METHODS & set(rule.methods or ()):
            operation = route_operation(view, tag, rule.rule, client_key_everywhere)
            if method == "GET" and 200 in operation["responses"]:
                # Every GET answer has an ETag (app/cache.py).
                operation["responses"][304] = {"description": NOT_MODIFIED}
            spec.path(openapi_path(rule.rule), operations={method.lower(): operation})
    for tag, description in tags.items():
        spec.tag({"name": tag, "description": description})
    return spec.to_dict()


def route_operation(view: Callable, tag: str, rule: str, client_key_everywhere: bool) -> dict:
    """The OpenAPI operation of `view` at `rule` (schemas still marshmallow: apispec resolves
    them); with CLIENT_KEY_REQUIRED, every /api operation also needs the client key."""
    operation = copy.deepcopy(view.operation)  # apispec resolves the schemas in place
    summary, _, description = (inspect.getdoc(view) or "").partition("\n")
    operation.update(operationId=view.__name__, tags=[tag], summary=summary.strip())
    if description.strip():
        operation["description"] = description.strip()
    parameters = [
        {
            "name": match["name"],
            "in": "path",
            "schema": {"type": "integer", "minimum": 0}
            if match["converter"] == "int"
            else {"type": "string"},
        }
        for match in RULE_VARIABLE.finditer(rule)
    ] + operation.pop("parameters", [])
    if parameters:
        operation["parameters"] = parameters
    security = operation.pop("security")
    if client_key_everywhere:
        security = [{"ClientKey": [], **alternative} for alternative in security or [{}]]
    if security:
        operation["security"] = security
        operation["responses"][401] = operation["responses"].get(401, error_name(401))
    operation["responses"] = dict(sorted(operation["responses"].items()))
    return operation


def openapi_path(rule: str) -> str:
    """A Flask rule as an OpenAPI path template: `/articles/<slug>` is `/articles/{slug}`."""
    return RULE_VARIABLE.sub(lambda match: "{" + match["name"] + "}", rule)


def module_summary(view: Callable) -> str:
    """The first line of the docstring of the module that defines `view` (its service's)."""
    return (inspect.getdoc(sys.modules[view.__module__]) or "").partition("\n")[0]
