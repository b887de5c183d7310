"""Webhook settings: private targets only where allowed, a lease longer than a request."""

import pytest

from config import ConfigError, get_config
from tests.helpers import set_production_secrets


@pytest.fixture
def production_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://root@127.0.0.1/conduit")
    set_production_secrets(monkeypatch)
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://redis.internal:6379/0")


def test_private_targets_are_refused_by_default_everywhere(monkeypatch, production_environment):
    monkeypatch.delenv("WEBHOOK_ALLOW_PRIVATE_TARGETS", raising=False)

    for name in ("development", "test", "production"):
        assert get_config(name).WEBHOOK_ALLOW_PRIVATE_TARGETS is False


@pytest.mark.parametrize("name", ["development", "test"])
def test_development_and_tests_may_allow_private_targets(monkeypatch, name):
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_TARGETS", "1")

    assert get_config(name).WEBHOOK_ALLOW_PRIVATE_TARGETS is True


def test_production_refuses_to_start_with_private_targets_allowed(
    monkeypatch, production_environment
):
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_TARGETS", "1")

    with pytest.raises(ConfigError, match="WEBHOOK_ALLOW_PRIVATE_TARGETS is for development"):
        get_config("production")


def test_the_lease_must_outlast_an_attempt(monkeypatch):
    monkeypatch.setenv("WEBHOOK_ATTEMPT_DEADLINE_SECONDS", "30")
    monkeypatch.setenv("WEBHOOK_DELIVERY_LEASE_SECONDS", "30")

    with pytest.raises(ConfigError, match="WEBHOOK_DELIVERY_LEASE_SECONDS must exceed"):
        get_config("test")
