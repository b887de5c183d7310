"""CORS: browsers on the configured origins may call the API; any origin only in development."""

import pytest

from app import create_app
from config import ConfigError, get_config
from tests.helpers import set_production_secrets

FRONT_END = "https://app.example.com"


@pytest.fixture
def client_for_origins(monkeypatch):
    """A test client of an app built with CORS_ORIGINS set to the given value."""

    def build(origins: str):
        monkeypatch.setenv("CORS_ORIGINS", origins)
        return create_app("test").test_client()

    return build


def test_an_allowed_origin_may_read_responses_and_their_request_id(client_for_origins):
    client = client_for_origins(f"{FRONT_END}, https://admin.example.com")

    response = client.get("/api/profiles/nobody", headers={"Origin": FRONT_END})

    assert response.status_code == 404  # error responses carry the headers too
    assert response.headers["Access-Control-Allow-Origin"] == FRONT_END
    assert "X-Request-ID" in response.headers["Access-Control-Expose-Headers"]


def test_a_preflight_from_an_allowed_origin_allows_the_api_headers(client_for_origins):
    client = client_for_origins(FRONT_END)

    response = client.options(
        "/api/user",
        headers={
            "Origin": FRONT_END,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "Authorization, Content-Type, X-Client-Key",
        },
    )

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == FRONT_END
    assert "PUT" in response.headers["Access-Control-Allow-Methods"]
    allowed_headers = response.headers["Access-Control-Allow-Headers"].lower().split(",")
    allowed = {header.strip() for header in allowed_headers}
    assert {"authorization", "content-type", "x-client-key"} <= allowed


def test_another_origin_gets_no_cors_headers(client_for_origins):
    client = client_for_origins(FRONT_END)

    response = client.options(
        "/api/user",
        headers={"Origin": "https://evil.example.net", "Access-Control-Request-Method": "PUT"},
    )

    assert "Access-Control-Allow-Origin" not in response.headers


def test_without_cors_origins_no_origin_is_allowed(client_for_origins):
    client = client_for_origins("")

    response = client.get("/api/profiles/nobody", headers={"Origin": FRONT_END})

    assert "Access-Control-Allow-Origin" not in response.headers


def test_a_wildcard_allows_any_origin(client_for_origins):
    client = client_for_origins("*")

    response = client.get("/api/profiles/nobody", headers={"Origin": "http://localhost:3000"})

    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"


def test_only_development_allows_every_origin_by_default(monkeypatch):
    monkeypatch.delenv("CORS_ORIGINS", raising=False)
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/never-opened.sqlite")
    set_production_secrets(monkeypatch)
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://redis.internal:6379/0")

    assert get_config("development").CORS_ORIGINS == ["*"]
    assert get_config("test").CORS_ORIGINS == []
    assert get_config("production").CORS_ORIGINS == []


def test_production_refuses_a_wildcard_origin(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://db.internal/conduit")
    set_production_secrets(monkeypatch)
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://redis.internal:6379/0")
    monkeypatch.setenv("CORS_ORIGINS", "*")

    with pytest.raises(ConfigError, match="CORS_ORIGINS"):
        get_config("production")


def test_production_takes_a_list_of_origins(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://db.internal/conduit")
    set_production_secrets(monkeypatch)
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://redis.internal:6379/0")
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example.com,https://b.example.com")

    assert get_config("production").CORS_ORIGINS == [
        "https://a.example.com",
        "https://b.example.com",
    ]
