"""Config classes: chosen by name, overridable from the environment, strict in production."""

import pytest

from config import ConfigError, get_config


def test_a_config_is_chosen_by_name_in_any_case():
    assert type(get_config("Test")).__name__ == "Test"
    assert type(get_config("development")).__name__ == "Development"


def test_an_unknown_config_name_is_refused():
    with pytest.raises(ConfigError, match="unknown config 'staging'"):
        get_config("staging")


def test_test_config_uses_test_database_url(monkeypatch):
    monkeypatch.setenv("TEST_DATABASE_URL", "mysql://root@db.example:3306/t")

    url = get_config("test").SQLALCHEMY_DATABASE_URI

    assert url == "mysql+pymysql://root@db.example:3306/t?charset=utf8mb4"


def test_production_names_every_missing_setting(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)

    with pytest.raises(ConfigError) as refused:
        get_config("production")

    assert "DATABASE_URL" in str(refused.value)
    assert "SECRET_KEY" in str(refused.value)


def test_production_refuses_a_short_secret(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://root@127.0.0.1/conduit")
    monkeypatch.setenv("SECRET_KEY", "short")

    with pytest.raises(ConfigError, match="SECRET_KEY must be set to at least 32 bytes"):
        get_config("production")


def test_production_starts_with_its_settings(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://root@127.0.0.1/conduit")
    monkeypatch.setenv("SECRET_KEY", "s" * 32)
    monkeypatch.setenv("LOG_LEVEL", "warning")

    config = get_config("production")

    assert config.SECRET_KEY == "s" * 32
    assert config.LOG_LEVEL == "WARNING"
