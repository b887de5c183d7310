"""The contract test: every response the suite gets for a path of the RealWorld spec is checked
against the RealWorld spec (tests/realworld/openapi.yml), so a drift from the spec fails the suite.

Success responses are validated strictly by openapi-core, and more strictly than the spec
reads: objects may carry only the properties the spec lists (`additionalProperties: false` is
added to every object schema), so a field that leaks or is renamed fails too.

Two deliberate deviations are checked against a relaxed model instead, and documented in the
README: our error bodies are keyed by field (`{"errors": {"email": [...]}}`) where the spec's
GenericErrorModel requires `errors.body`, and our 401 answers carry that JSON body where the
spec declares none. So every error response (status >= 400) must be
`{"errors": {"<field>": ["<message>", ...]}}`, with any status.
"""

import copy
import io
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from flask.testing import FlaskClient
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from werkzeug.wrappers import Request, Response

SPEC_PATH = Path(__file__).resolve().parent / "realworld" / "openapi.yml"
API_PREFIX = "/api"

ERROR_MODEL = {
    "type": "object",
    "required": ["errors"],
    "additionalProperties": False,
    "properties": {
        "errors": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "minLength": 1},
            },
        }
    },
}


# The schema is checked once, here, not on each response as jsonschema.validate() would.
jsonschema.Draft202012Validator.check_schema(ERROR_MODEL)
ERROR_VALIDATOR = jsonschema.Draft202012Validator(ERROR_MODEL)


class ContractViolation(AssertionError):
    """A response the spec (or, for errors, the relaxed error model) does not allow."""


def _closed(schema: Any) -> Any:
    """`schema` with `additionalProperties: false` on every object that lists properties."""
    if isinstance(schema, dict):
        closed = {key: _closed(value) for key, value in schema.items()}
        if "properties" in closed and "additionalProperties" not in closed:
            closed["additionalProperties"] = False
        return closed
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    return schema


@cache
def spec_document() -> dict:
    """The spec as shipped, served under our /api prefix on any host."""
    with SPEC_PATH.open(encoding="utf-8") as spec_file:
        document = yaml.safe_load(spec_file)
    document = copy.deepcopy(document)
    document["servers"] = [{"url": API_PREFIX}]
    document["components"] = _closed(document["components"])
    return document


@cache
def openapi() -> OpenAPI:
    # The spec is RealWorld's, as shipped: checking that it is valid OpenAPI (about 0.15 s of
    # CPU in each test process) would check their file, not our answers.
    return OpenAPI.from_dict(spec_document(), config=Config(spec_validator_cls=None))


@cache
def spec_paths() -> list[tuple[re.Pattern, dict]]:
    """Each spec path as a regex of request paths, with its operations by method."""
    patterns = []
    for template, operations in spec_document()["paths"].items():
        regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(API_PREFIX + template))
        by_method = {method.upper(): operation for method, operation in operations.items()}
        patterns.append((re.compile(regex + "$"), by_method))
    return patterns


def spec_operation(method: str, path: str) -> dict | None:
    """The spec's operation for `method` on the request path `path`, if it declares one."""
    for pattern, operations in spec_paths():
        if pattern.match(path) and method.upper() in operations:
            return operations[method.upper()]
    return None


def declared_response(operation: dict, status: int) -> dict | None:
    """The response `operation` declares for `status`, its $ref resolved."""
    response = operation["responses"].get(str(status))
    if response is not None and "$ref" in response:
        name = response["$ref"].rsplit("/", 1)[-1]
        response = spec_document()["components"]["responses"][name]
    return response


def check_response(request: Request, response: Response) -> None:
    """Raise ContractViolation when `response` to `request` is not what the spec allows."""
    operation = spec_operation(request.method, request.path)
    if operation is None:
        return
    if response.status_code == 304:
        return  # HTTP's answer to If-None-Match (every GET has an ETag): no body to check
    where = f"{request.method} {request.path} -> {response.status_code}"
    body = response.get_data(as_text=True)
    if response.status_code >= 400:
        try:
            ERROR_VALIDATOR.validate(response.get_json(silent=True))
        except jsonschema.ValidationError as error:
            message = f"{where}: error body {body[:300]!r}: {error.message}"
            raise ContractViolation(message) from None
        return
    declared = declared_response(operation, response.status_code)
    if declared is not None and declared.get("content") == {}:
        # `content: {}` declares no body (openapi-core would demand one).
        if body:
            raise ContractViolation(f"{where}: the spec declares no body, got {body[:300]!r}")
        return
    try:
        openapi().validate_response(
            WerkzeugOpenAPIRequest(_without_body(request)), WerkzeugOpenAPIResponse(response)
        )
    except Exception as error:
        details = "; ".join(str(cause) for cause in _causes(error))
        message = f"{where} breaks the spec: {details}\nbody: {body[:500]}"
        raise ContractViolation(message) from error


def _without_body(request: Request) -> Request:
    """A copy of `request` without its body, which was read already and which response
    validation does not need (openapi-core still touches it).
    """
    environ = {**request.environ, "wsgi.input": io.BytesIO(), "CONTENT_LENGTH": "0"}
    return Request(environ)


def _causes(error: BaseException):
    while error is not None:
        yield error
        for schema_error in getattr(error, "schema_errors", ()) or ():
            yield schema_error.message
        error = error.__cause__


class ContractCheckingClient(FlaskClient):
    """A test client that checks every response to a path of the spec against the spec."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        check_response(response.request, response)
        return response
