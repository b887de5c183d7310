"""Every bad input gets JSON of one shape with the right status, never HTML, never a 500."""

import io
import json
import logging

import pytest

from app import create_app
from tests.factories import make_user
from tests.helpers import auth_headers, client_key_headers


def assert_error(response, status, errors):
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert response.get_json() == {"errors": errors}


def test_malformed_json_is_422(client):
    response = client.post(
        "/api/users", data='{"user": {', headers={"Content-Type": "application/json"}
    )

    assert_error(response, 422, {"body": ["request body is not valid JSON"]})


@pytest.mark.parametrize("body", ["NaN", '{"user": Infinity}', "[" * 100_000 + "]" * 100_000])
def test_json_that_python_would_accept_or_choke_on_is_422(client, body):
    response = client.post("/api/users", data=body, headers={"Content-Type": "application/json"})

    assert_error(response, 422, {"body": ["request body is not valid JSON"]})


def test_a_body_that_is_not_json_is_415(client):
    response = client.post("/api/users", data="user=x", content_type="text/plain")

    assert_error(response, 415, {"body": ["Content-Type must be application/json"]})


@pytest.mark.parametrize("body", ["{}", '{"usr": {}}', "[]", '"user"', "null"])
def test_a_missing_envelope_is_422(client, body):
    response = client.post("/api/users", data=body, content_type="application/json")

    assert_error(response, 422, {"user": ["is required"]})


def test_an_envelope_that_is_not_an_object_is_422(client):
    response = client.post("/api/users", json={"user": ["a", "b"]})

    assert_error(response, 422, {"user": ["must be an object"]})


def test_wrong_field_types_are_422_per_field(client):
    response = client.post(
        "/api/users", json={"user": {"username": 42, "email": ["x"], "password": {"a": 1}}}
    )

    assert_error(
        response,
        422,
        {
            "username": ["must be a string"],
            "email": ["is invalid"],
            "password": ["must be a string"],
        },
    )


def test_values_that_are_too_long_are_422(client):
    user = {"username": "u" * 65, "email": "e@example.com", "password": "p" * 257}

    response = client.post("/api/users", json={"user": user})

    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"username", "password"}


def test_an_unknown_route_is_a_json_404(client):
    assert_error(client.get("/api/nowhere"), 404, {"body": ["not found"]})
    assert_error(client.get("/"), 404, {"body": ["not found"]})


def test_an_unknown_record_is_a_json_404(client):
    assert_error(client.get("/api/profiles/nobody"), 404, {"body": ["profile not found"]})


def test_a_wrong_method_is_a_json_405_with_allow(client):
    response = client.delete("/api/users")

    assert_error(response, 405, {"body": ["method not allowed"]})
    assert "POST" in response.headers["Allow"]


def test_a_body_over_the_limit_is_413(client, app):
    too_big = b'{"user": "' + b"x" * app.config["MAX_CONTENT_LENGTH"] + b'"}'

    response = client.post("/api/users", data=too_big, content_type="application/json")

    assert_error(response, 413, {"body": ["request body too large"]})


def test_a_chunked_body_over_the_limit_is_413_not_a_truncated_read(client, app):
    too_big = b'{"user": "' + b"x" * app.config["MAX_CONTENT_LENGTH"] + b'"}'

    response = client.post(
        "/api/users",
        input_stream=io.BytesIO(too_big),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )

    assert_error(response, 413, {"body": ["request body too large"]})


def test_a_chunked_body_under_the_limit_is_read_whole(client):
    user = {"username": "chunked", "email": "chunked@example.com", "password": "pw-long-enough"}

    response = client.post(
        "/api/users",
        input_stream=io.BytesIO(json.dumps({"user": user}).encode()),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )

    assert response.status_code == 201


@pytest.mark.parametrize(
    "header",
    ["Token", "Basic dXNlcjpwdw==", "Token a b", "JWT abc"],
)
def test_a_malformed_authorization_header_is_401(client, header):
    response = client.get("/api/user", headers={"Authorization": header})

    assert response.status_code == 401
    assert list(response.get_json()["errors"]) == ["token"]


def test_a_token_for_a_deleted_user_is_401(client):
    from app.extensions import db

    user = make_user(username="gone")
    headers = auth_headers(user)
    db.session.delete(user)
    db.session.commit()

    assert_error(
        client.get("/api/user", headers=headers), 401, {"token": ["is invalid or expired"]}
    )


def test_an_unexpected_exception_is_logged_and_a_bare_json_500(caplog):
    app = create_app("test")

    @app.get("/api/explode")
    def explode():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/api/explode", headers={"X-Request-ID": "req-500-check"})

    assert_error(response, 500, {"body": ["internal server error"]})
    assert b"secret internals" not in response.data
    assert response.headers["X-Request-ID"] == "req-500-check"
    logged = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "req-500-check" in logged[-1].getMessage()
    assert "secret internals" in caplog.text


def test_an_id_too_long_for_any_key_is_a_404_on_every_database(client):
    user = make_user(username="huge-ids")
    huge = "9" * 20

    paths = [
        ("delete", f"/api/articles/any/comments/{huge}", auth_headers(user)),
        ("get", f"/api/webhooks/{huge}", client_key_headers()),
        ("patch", f"/api/webhooks/{huge}", client_key_headers()),
    ]

    for method, path, headers in paths:
        response = getattr(client, method)(path, headers=headers, json={"webhook": {}})
        assert_error(response, 404, {"body": ["not found"]})


def test_an_offset_past_every_row_is_an_empty_page_on_every_database(client):
    huge = "9" * 20

    articles = client.get(f"/api/articles?offset={huge}")
    webhooks = client.get(f"/api/webhooks?offset={huge}", headers=client_key_headers())

    assert articles.get_json() == {"articles": [], "articlesCount": 0}
    assert webhooks.status_code == 200
    assert webhooks.get_json()["webhooks"] == []
