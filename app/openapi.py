"""The OpenAPI document, built from the views' own declarations.

A view declares its contract with `@documents(...)` (input and query schemas, output schema,
status, other responses, auth), as microblog-api's views do; the decorator only records it on
the view. `openapi_document(app)` walks `app.url_map`, reads each view's declaration and builds
the document with apispec and its marshmallow plugin. A route without a declaration is an error,
so the document covers every route of the app.
"""

import copy
import inspect
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from apispec.ext.marshmallow.openapi import OpenAPIConverter
from flask import Flask
from marshmallow import Schema, fields

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

SchemaLike = type[Schema] | Schema | dict


@dataclass(frozen=True)
class Declaration:
    """A view's contract, as `@documents` recorded it."""

    input: SchemaLike | None
    query: type[Schema] | None
    output: SchemaLike | None
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
    input: SchemaLike | None = None,
    query: type[Schema] | None = None,
    output: SchemaLike | None = None,
    status: int = 200,
    responses: Iterable[int] | Mapping[int, str] = (),
    auth: Auth | None = None,
    media_type: str = JSON,
) -> Callable:
    """Declare a view's contract for the OpenAPI document; the view itself is left unchanged.

    `responses` are the error statuses besides those implied: 401 with `auth`, 413, 415 and
    422 with `input`, 422 with `query`. Give a mapping to describe them.
    """
    described = (
        dict(responses)
        if isinstance(responses, Mapping)
        else {status: ERROR_DESCRIPTIONS[status] for status in responses}
    )
    declaration = Declaration(input, query, output, status, described, auth, media_type)

    def record_declaration(view: Callable) -> Callable:
        setattr(view, DECLARATION, declaration)
        return view

    return record_declaration


def envelope(
    key: str, schema: type[Schema], *, many: bool = False, count: str | None = None
) -> dict:
    """The JSON schema of a RealWorld envelope around `schema`: `{"article": {...}}`, or with
    `many` a list, `{"articles": [...], "articlesCount": n}` when `count` names the total.
    """
    inner: dict | type[Schema] = {"type": "array", "items": schema} if many else schema
    properties: dict[str, Any] = {key: inner}
    if count:
        properties[count] = {"type": "integer", "minimum": 0}
    wrapper: dict[str, Any] = {"type": "object", "required": list(properties)}
    wrapper["properties"] = properties
    if not issubclass(schema, InputSchema):
        wrapper["additionalProperties"] = False
    return wrapper


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
    # A copy: apispec resolves the schemas of an operation in place.
    declaration = copy.deepcopy(declaration)
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
        result["requestBody"] = {"required": True, "content": {JSON: {"schema": declaration.input}}}

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
    if declaration.output is not None:
        response["content"] = {declaration.media_type: {"schema": declaration.output}}
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
