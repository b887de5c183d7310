"""A view's contract, declared once: `@documents(...)` loads and validates the body and the
query, hands them to the view, dumps its answer and sets the status, and the OpenAPI document
is built from the same declarations (`openapi_document(app)`, with apispec and its
marshmallow plugin). A route without a declaration is an error: the document covers them all.

Our own decorator rather than flask-smorest's: the README says why (API documentation).
"""

import inspect
import re
import sys
from collections.abc import Callable, Iterable, Mapping
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

from .inputs import request_json
from .responses import no_content
from .schemas import InputSchema, Timestamp

OPENAPI_VERSION = "3.1.0"
JSON = "application/json"
DECLARATION = "openapi_declaration"
METHODS = ("get", "post", "put", "patch", "delete")

# For a status the RealWorld spec lists on an operation that never answers it: the document
# keeps every status of the spec (tests/docs/test_openapi.py), and says so.
SPEC_ONLY = "Not sent by this operation; listed because the RealWorld spec lists it"

NOT_MODIFIED = "Not modified: the ETag sent in If-None-Match is still the answer's"

ERROR_DESCRIPTIONS = {
    401: "Missing, invalid or expired credentials",
    403: "Only the owner may do this",
    404: "Not found",
    413: "The request body is too large",
    415: "The body is not JSON: send Content-Type: application/json",
    422: "Invalid input: each message names its field",
    503: "Temporarily unavailable",
}

DESCRIPTION = """\
The Conduit API: the RealWorld API (users, profiles, articles, comments, tags) and our own
services (signed webhooks for API clients), plus health checks.

**Errors** have one shape whatever the status: `{"errors": {"<field>": ["<message>", ...]}}`,
with the key `body` when an error is not about one field.

**Authentication**: `Authorization: Token <token>` (a token comes with registration and
login); webhook endpoints take the client's key in `X-Client-Key`.
"""

SECURITY_SCHEMES = {
    "Token": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`Token <token>` (or `Bearer <token>`) from POST /api/users or "
        "/api/users/login",
    },
    "ClientKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Client-Key",
        "description": "An API client's key (`manage.py create-client`)",
    },
}

# A Flask rule's variable, `<name>` or `<converter(args):name>`.
RULE_VARIABLE = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
CONVERTER_SCHEMAS = {
    "int": {"type": "integer", "minimum": 0},
    "float": {"type": "number"},
    "uuid": {"type": "string", "format": "uuid"},
}


@dataclass(frozen=True)
class Auth:
    """Who may call an operation: the security scheme, and whether it is optional."""

    scheme: str
    optional: bool = False


TOKEN = Auth("Token")
OPTIONAL_TOKEN = Auth("Token", optional=True)
CLIENT_KEY = Auth("ClientKey")


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
        inner: Any = {"type": "array", "items": self.schema} if self.many else self.schema
        properties: dict[str, Any] = {self.key: inner}
        if self.count:
            properties[self.count] = {"type": "integer", "minimum": 0}
        wrapper: dict[str, Any] = {"type": "object", "required": list(properties)}
        wrapper["properties"] = properties
        if not issubclass(self.schema, InputSchema):
            wrapper["additionalProperties"] = False
        return wrapper


@dataclass(frozen=True)
class Declaration:
    """A view's contract, as `@documents` declared it."""

    input: Envelope | None
    query: type[Schema] | None
    output: Envelope | type[Schema] | None
    status: int
    responses: Mapping[int, str]
    auth: Auth | None
    media_type: str


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
    responses: Iterable[int] | Mapping[int, str] = (),
    auth: Auth | None = None,
    media_type: str = JSON,
) -> Callable:
    """Declare a view's contract, and keep it: the view is called with the loaded body (when
    `input`), then the loaded query (when `query`), after the arguments the decorators above
    it pass (the user, the path's), and returns what `output` dumps, with `status` (None for a
    204). A Response or, for another media type, anything Flask answers is passed through.

    Place it last, above the function: authentication and rate limits run before the body
    is read. `responses` are the error statuses besides those implied: 401 with `auth`, 413,
    415 and 422 with `input`, 422 with `query`. Give a mapping to describe them.
    """
    described = (
        dict(responses)
        if isinstance(responses, Mapping)
        else {status: ERROR_DESCRIPTIONS[status] for status in responses}
    )
    declaration = Declaration(input, query, output, status, described, auth, media_type)
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

        setattr(decorated_documents_function, DECLARATION, declaration)
        return decorated_documents_function

    return declare


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


class OutputAwareConverter(OpenAPIConverter):
    """apispec's converter, which also marks every property of an output schema required:
    dumping writes each field of the schema, so each is always in the response.
    """

    def schema2jsonschema(self, schema):
        jsonschema = super().schema2jsonschema(schema)
        if not issubclass(resolve_schema_cls(schema), InputSchema):
            jsonschema["required"] = list(jsonschema["properties"])
        return jsonschema


class ConduitMarshmallowPlugin(MarshmallowPlugin):
    Converter = OutputAwareConverter


def openapi_document(app: Flask) -> dict:
    """The app's OpenAPI document (built once, on first use)."""
    document = app.extensions.get("openapi_document")
    if document is None:
        document = app.extensions["openapi_document"] = build_document(app)
    return document


def build_document(app: Flask) -> dict:
    """Build the OpenAPI document of every route of `app` from the views' declarations."""
    from . import API_PREFIX  # app/__init__.py imports the services, which import this module

    plugin = ConduitMarshmallowPlugin()
    spec = APISpec(
        title="Conduit API",
        version=app.config["RELEASE"],
        openapi_version=OPENAPI_VERSION,
        plugins=[plugin],
        info={"description": DESCRIPTION},
    )
    plugin.map_to_openapi_type(Timestamp, "string", "date-time")
    for name, scheme in SECURITY_SCHEMES.items():
        spec.components.security_scheme(name, scheme)

    paths: dict[str, dict[str, dict]] = {}
    tags: dict[str, str] = {}
    operation_ids: dict[str, str] = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        declaration = getattr(view, DECLARATION, None)
        if declaration is None:
            raise UndocumentedRoute(f"{rule.rule} ({rule.endpoint}) has no @documents declaration")
        tag = rule.endpoint.partition(".")[0]
        tags.setdefault(tag, module_summary(view))
        if operation_ids.setdefault(view.__name__, rule.endpoint) != rule.endpoint:
            raise ValueError(f"two views are called {view.__name__}: operationIds must differ")
        client_key_everywhere = app.config["CLIENT_KEY_REQUIRED"] and (
            rule.rule == API_PREFIX or rule.rule.startswith(API_PREFIX + "/")
        )
        path, path_parameters = openapi_path(rule.rule)
        for method in METHODS:
            if method.upper() in (rule.methods or ()):
                paths.setdefault(path, {})[method] = operation(
                    view, declaration, tag, path_parameters, client_key_everywhere
                )
                if method == "get" and declaration.status == 200:
                    # Every GET answer has an ETag (app/cache.py).
                    paths[path][method]["responses"]["304"] = {"description": NOT_MODIFIED}

    for tag, description in tags.items():
        spec.tag({"name": tag, "description": description})
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def operation(
    view: Callable,
    declaration: Declaration,
    tag: str,
    path_parameters: list[dict],
    client_key_everywhere: bool,
) -> dict:
    """The OpenAPI operation of `view` (schemas still marshmallow: apispec resolves them)."""
    summary, _, description = (inspect.getdoc(view) or "").partition("\n")
    result: dict[str, Any] = {"operationId": view.__name__, "tags": [tag]}
    result["summary"] = summary.strip()
    if description.strip():
        result["description"] = description.strip()

    parameters = list(path_parameters)
    if declaration.query is not None:
        parameters.append({"in": "query", "schema": declaration.query})
    if parameters:
        result["parameters"] = parameters
    if declaration.input is not None:
        body = {"schema": declaration.input.json_schema()}
        result["requestBody"] = {"required": True, "content": {JSON: body}}

    security = security_requirements(declaration.auth, client_key_everywhere)
    if security:
        result["security"] = security

    errors = dict(declaration.responses)
    if security:
        errors.setdefault(401, ERROR_DESCRIPTIONS[401])
    if declaration.input is not None:
        for status in (413, 415, 422):
            errors.setdefault(status, ERROR_DESCRIPTIONS[status])
    if declaration.query is not None:
        errors.setdefault(422, ERROR_DESCRIPTIONS[422])

    responses = {str(declaration.status): success_response(declaration)}
    for status in sorted(errors):
        responses[str(status)] = {
            "description": errors[status],
            "content": {JSON: {"schema": ErrorOutput}},
        }
    result["responses"] = responses
    return result


def success_response(declaration: Declaration) -> dict:
    response: dict[str, Any] = {"description": HTTPStatus(declaration.status).phrase}
    output = declaration.output
    if output is not None:
        schema = output.json_schema() if isinstance(output, Envelope) else output
        response["content"] = {declaration.media_type: {"schema": schema}}
    elif declaration.media_type != JSON:
        response["content"] = {declaration.media_type: {}}
    return response


def security_requirements(auth: Auth | None, client_key_everywhere: bool) -> list[dict]:
    """OpenAPI security requirements (alternatives) for `auth`; with CLIENT_KEY_REQUIRED,
    every /api operation also needs the client key. Empty when anyone may call.
    """
    alternatives: list[dict] = [{}]
    if auth is not None:
        alternatives = [{auth.scheme: []}]
        if auth.optional:
            alternatives.insert(0, {})
    if client_key_everywhere:
        alternatives = [{"ClientKey": [], **alternative} for alternative in alternatives]
    return [] if alternatives == [{}] else alternatives


def openapi_path(rule: str) -> tuple[str, list[dict]]:
    """A Flask rule as an OpenAPI path template, and its path parameters."""
    parameters = []
    for match in RULE_VARIABLE.finditer(rule):
        schema = CONVERTER_SCHEMAS.get(match["converter"] or "", {"type": "string"})
        parameters.append(
            {"name": match["name"], "in": "path", "required": True, "schema": dict(schema)}
        )
    return RULE_VARIABLE.sub(lambda match: "{" + match["name"] + "}", rule), parameters


def module_summary(view: Callable) -> str:
    """The first line of the docstring of the module that defines `view` (its service's)."""
    module = sys.modules.get(view.__module__)
    return (inspect.getdoc(module) or "").partition("\n")[0] if module else ""
