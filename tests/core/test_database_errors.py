"""503 only when the database cannot be reached or timed out; any other database error is a
bug, answered 500 and logged as an error (Sentry sees it: tests/ops/test_sentry.py)."""

import logging

import pytest
from sqlalchemy import text

from app import create_app
from app.extensions import db
from tests.polling import free_port

UNREACHABLE_DATABASES = {
    "mariadb-port-closed": lambda folder: f"mysql+pymysql://root@127.0.0.1:{free_port()}/c",
    "sqlite-cannot-open": lambda folder: f"sqlite:///{folder / 'no-such-folder' / 'c.sqlite'}",
}


@pytest.mark.parametrize("database", UNREACHABLE_DATABASES)
def test_an_unreachable_database_is_a_503_with_retry_after(monkeypatch, tmp_path, database, caplog):
    monkeypatch.setenv("TEST_DATABASE_URL", UNREACHABLE_DATABASES[database](tmp_path))
    unreachable = create_app("test")

    response = unreachable.test_client().get("/api/profiles/ada")

    assert response.status_code == 503
    assert response.get_json() == {"errors": {"database": ["unavailable, try again shortly"]}}
    assert int(response.headers["Retry-After"]) > 0
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


def test_an_sql_error_is_a_500_logged_as_an_error_not_a_503(caplog):
    buggy = create_app("test")

    @buggy.get("/api/buggy")
    def run_a_query_with_a_typo():
        db.session.execute(text("SELECT no_such_column FROM users"))
        return {}

    response = buggy.test_client().get("/api/buggy", headers={"X-Request-ID": "sql-bug-1"})

    assert response.status_code == 500
    assert response.get_json() == {"errors": {"body": ["internal server error"]}}
    assert "Retry-After" not in response.headers
    [logged] = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert "sql-bug-1" in logged.getMessage()
    assert "no_such_column" in caplog.text
