"""GET /api/openapi.json: generated from the views' declarations, it validates, covers every
route of the app, keeps every operation and status of the RealWorld spec, and says truly which
operations need credentials.
"""

import pytest
from flask import Flask
from marshmallow import Schema, fields
from openapi_spec_validator import validate

from app import create_app
from app.openapi import (
    Envelope,
    UndocumentedRoute,
    build_document,
    documents,
    openapi_document,
    openapi_path,
)
from app.schemas import InputSchema, PageQuery
from tests.docs.support import (
    operations,
    realworld_spec,
    sample_path,
    without_parameter_names,
)

ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorOutput"}


@pytest.fixture
def document(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_the_document_is_valid_openapi_3_1(document):
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] == "Conduit API"


def test_every_route_of_the_app_is_in_the_document(app, document):
    routes = {
        (method, openapi_path(rule.rule))
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"}
    }

    assert set(operations(document)) == routes
    assert {("GET", "/healthz"), ("GET", "/readyz"), ("POST", "/api/webhooks")} <= routes


def test_every_operation_says_what_it_does(document):
    for (method, path), operation in operations(document).items():
        assert operation["summary"], f"{method} {path}: its view has no docstring"
        assert operation["tags"], f"{method} {path}"


def test_a_route_without_a_declaration_fails_the_document():
    app = Flask(__name__, static_folder=None)
    app.config.update(RELEASE="1.0", CLIENT_KEY_REQUIRED=False)

    @app.get("/declared")
    @documents()
    def get_declared():
        """Declared."""

    @app.get("/forgotten/<int:thing_id>")
    def get_forgotten(thing_id):
        """Not declared."""

    with pytest.raises(UndocumentedRoute, match="/forgotten/<int:thing_id>"):
        build_document(app)


class NameInput(InputSchema):
    name = fields.String(required=True)


class GreetingOutput(Schema):
    greeting = fields.String()


def test_a_declaration_does_the_work_it_declares():
    app = create_app("test")

    @app.post("/api/greetings")
    @documents(
        input=Envelope("person", NameInput),
        query=PageQuery,
        output=Envelope("greeting", GreetingOutput),
        status=201,
    )
    def create_greeting(person, page):
        """Greet someone."""
        return {"greeting": f"hello {person['name']}, {page['limit']}", "kept": "out"}

    client = app.test_client()
    greeted = client.post("/api/greetings?limit=3", json={"person": {"name": "zoe", "x": 1}})
    unnamed = client.post("/api/greetings", json={"person": {}})
    unpaged = client.post("/api/greetings?limit=0", json={"person": {"name": "zoe"}})
    not_json = client.post("/api/greetings", data="name=zoe", content_type="text/plain")

    assert (greeted.status_code, greeted.get_json()) == (
        201,
        {"greeting": {"greeting": "hello zoe, 3"}},
    )
    assert (unnamed.status_code, unnamed.get_json()) == (422, {"errors": {"name": ["is required"]}})
    assert unpaged.status_code == 422
    assert unpaged.get_json() == {"errors": {"limit": ["must be an integer from 1 to 100"]}}
    assert not_json.status_code == 415


def test_every_realworld_operation_and_status_is_in_ours_under_api(document):
    ours = {
        (method, without_parameter_names(path)): set(operation["responses"])
        for (method, path), operation in operations(document).items()
    }

    missing = []
    for (method, path), operation in operations(realworld_spec()).items():
        key = (method, without_parameter_names("/api" + path))
        for status in operation["responses"]:
            if status not in ours.get(key, set()):
                missing.append(f"{method} /api{path} {status}")
    assert missing == []


def test_every_error_response_has_the_one_error_shape(document):
    error_model = document["components"]["schemas"]["ErrorOutput"]
    assert error_model["required"] == ["errors"]
    assert error_model["properties"]["errors"] == {
        "type": "object",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
    }
    shared = document["components"]["responses"]
    for (method, path), operation in operations(document).items():
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                response = (
                    shared[response["$ref"].rpartition("/")[2]] if "$ref" in response else response
                )
                assert response["content"] == {"application/json": {"schema": ERROR_SCHEMA}}, (
                    f"{method} {path} {status}"
                )


def test_operations_with_a_request_body_declare_its_errors(document):
    for (method, path), operation in operations(document).items():
        if "requestBody" in operation:
            assert {"413", "415", "422"} <= set(operation["responses"]), f"{method} {path}"


def required_schemes(operation: dict) -> set[str]:
    """The schemes every alternative of the operation's security needs."""
    alternatives = operation.get("security") or [{}]
    return set.intersection(*(set(alternative) for alternative in alternatives))


def test_operations_that_need_credentials_refuse_anonymous_requests(client, document):
    for (method, path), operation in operations(document).items():
        response = client.open(sample_path(path, operation), method=method)
        needed = required_schemes(operation)
        if needed:
            assert response.status_code == 401, f"{method} {path}"
            assert "401" in operation["responses"]
            header = {"Token": "token", "ClientKey": "X-Client-Key"}[needed.pop()]
            assert set(response.get_json()["errors"]) == {header}, f"{method} {path}"
        else:
            assert response.status_code != 401, f"{method} {path} needs credentials"


def error_fields(response) -> set[str]:
    body = response.get_json(silent=True)
    return set(body["errors"]) if isinstance(body, dict) and "errors" in body else set()


def test_a_bad_token_is_refused_exactly_where_the_document_declares_the_token(client, document):
    headers = {"Authorization": "Token not-a-token"}
    for (method, path), operation in operations(document).items():
        response = client.open(sample_path(path, operation), method=method, headers=headers)
        declares_token = any("Token" in option for option in operation.get("security", []))
        if declares_token:
            assert response.status_code == 401, f"{method} {path}"
            assert response.get_json() == {"errors": {"token": ["is invalid or expired"]}}
        else:
            assert "token" not in error_fields(response), f"{method} {path} reads the token"


def test_client_key_required_puts_the_key_on_every_api_operation(app, monkeypatch):
    monkeypatch.setitem(app.config, "CLIENT_KEY_REQUIRED", True)

    document = build_document(app)

    for (method, path), operation in operations(document).items():
        if path.startswith("/api/"):
            assert all("ClientKey" in option for option in operation["security"]), path
            assert "401" in operation["responses"], f"{method} {path}"
        else:
            assert "security" not in operation, path
    articles = document["paths"]["/api/articles"]["get"]
    assert articles["security"] == [{"ClientKey": []}, {"ClientKey": [], "Token": []}]


def test_the_document_is_built_once_per_app(app):
    assert openapi_document(app) is openapi_document(app)
