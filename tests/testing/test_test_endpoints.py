"""Test-only routes (GET /_test/slow for the deploy load test): served only when TEST_ENDPOINTS
is on, never in production."""

import pytest

from config import ConfigError, get_config
from tests.helpers import set_production_secrets


def test_test_endpoints_are_not_served_unless_turned_on(app, client):
    assert app.config["TEST_ENDPOINTS"] is False

    response = client.get("/_test/slow")

    assert response.status_code == 404
    assert response.is_json


def test_test_endpoints_are_turned_on_from_the_environment(monkeypatch):
    monkeypatch.setenv("TEST_ENDPOINTS", "1")

    assert get_config("test").TEST_ENDPOINTS is True


def test_production_refuses_test_endpoints(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://root@127.0.0.1/conduit")
    set_production_secrets(monkeypatch)
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://redis.internal:6379/0")
    monkeypatch.setenv("TEST_ENDPOINTS", "1")

    with pytest.raises(ConfigError, match="TEST_ENDPOINTS is for tests only"):
        get_config("production")
