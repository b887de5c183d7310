"""Config classes: chosen by name, overridable from the environment, strict in production."""

import importlib.util

import pytest

from config import ConfigError, get_config
from tests.helpers import PRODUCTION_SECRET_KEY, set_production_secrets


def test_a_config_is_chosen_by_name_in_any_case():
    assert type(get_config("Test")).__name__ == "Test"
    assert type(get_config("development")).__name__ == "Development"


def test_an_unknown_config_name_is_refused():
    with pytest.raises(ConfigError, match="unknown config 'staging'"):
        get_config("staging")


def test_test_config_uses_test_database_url(monkeypatch):
    monkeypatch.setenv("TEST_DATABASE_URL", "mysql://root@db.example:3306/t")

    url = get_config("test").SQLALCHEMY_DATABASE_URI

    # mysqlclient where it is installed (production), else PyMySQL.
    driver = "mysqldb" if importlib.util.find_spec("MySQLdb") else "pymysql"
    assert url == f"mysql+{driver}://root@db.example:3306/t?charset=utf8mb4"


@pytest.mark.parametrize("driver", ["pymysql", "mysqldb"])
def test_a_database_url_that_names_its_driver_keeps_it(monkeypatch, driver):
    monkeypatch.setenv("TEST_DATABASE_URL", f"mysql+{driver}://root@db.example:3306/t")

    url = get_config("test").SQLALCHEMY_DATABASE_URI

    assert url == f"mysql+{driver}://root@db.example:3306/t?charset=utf8mb4"


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

    with pytest.raises(ConfigError, match="SECRET_KEY must be at least 32 bytes"):
        get_config("production")


def test_production_starts_with_its_settings(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://root@127.0.0.1/conduit")
    set_production_secrets(monkeypatch)
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://redis.internal:6379/0")
    monkeypatch.setenv("LOG_LEVEL", "warning")

    config = get_config("production")

    assert config.SECRET_KEY == PRODUCTION_SECRET_KEY
    assert config.LOG_LEVEL == "WARNING"


@pytest.mark.parametrize("broker_url", ["filesystem://", "memory://localhost/"])
def test_production_refuses_a_broker_of_one_host(monkeypatch, broker_url):
    monkeypatch.setenv("DATABASE_URL", "mysql://root@127.0.0.1/conduit")
    set_production_secrets(monkeypatch)
    monkeypatch.setenv("CELERY_BROKER_URL", broker_url)

    with pytest.raises(ConfigError, match="CELERY_BROKER_URL must name a broker every host"):
        get_config("production")


def test_replicas_need_a_mariadb_primary_and_redis(monkeypatch):
    monkeypatch.setenv("TEST_DATABASE_URL", "mysql://root@10.0.0.11/conduit")
    monkeypatch.setenv("DATABASE_REPLICA_URLS", "mysql://root@10.0.0.12/conduit")
    monkeypatch.delenv("REDIS_URL", raising=False)

    with pytest.raises(ConfigError, match="DATABASE_REPLICA_URLS needs REDIS_URL"):
        get_config("test")

    monkeypatch.setenv("REDIS_URL", "redis://10.0.0.20:6379/0")
    driver = "mysqldb" if importlib.util.find_spec("MySQLdb") else "pymysql"
    assert [f"mysql+{driver}://root@10.0.0.12/conduit?charset=utf8mb4"] == get_config(
        "test"
    ).DATABASE_REPLICA_URLS
