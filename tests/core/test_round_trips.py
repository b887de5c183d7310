"""Pooled connections cost no round trip of their own: no ping before each use, one ROLLBACK
per request, and a read that meets a connection the database dropped is served all the same.

Each test runs a second app with a real pool of its own (the session's app shares the test's
one connection), on the test database, reading only what is committed there.
"""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, text

from app import create_app
from app.extensions import db


@contextmanager
def pooled_app(monkeypatch, **settings: str) -> Iterator:
    """An app with a pool of its own; `round_trips` counts what its engine sends."""
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    app = create_app("test")
    with app.app_context():
        engine = db.engine
        dialect = engine.dialect
        app.round_trips = Counter()

        def counted(name, method):
            def call(*args, **kwargs):
                app.round_trips[name] += 1
                return method(*args, **kwargs)

            return call

        # The dialect of this engine alone: the calls the pool and the session make.
        monkeypatch.setattr(dialect, "do_ping", counted("ping", dialect.do_ping))
        monkeypatch.setattr(dialect, "do_rollback", counted("rollback", dialect.do_rollback))
        monkeypatch.setattr(dialect, "do_commit", counted("commit", dialect.do_commit))

        def statement(connection, cursor, sql, *args):
            if not sql.startswith("BEGIN"):  # SQLite's own BEGIN, sent with the first statement
                app.round_trips["statement"] += 1

        event.listen(engine, "before_cursor_execute", statement)
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()


def test_a_read_sends_its_statement_and_one_rollback_and_no_ping(monkeypatch):
    with pooled_app(monkeypatch) as app:
        client = app.test_client()
        assert client.get("/api/tags").status_code == 200  # connects: the pool holds one now
        app.round_trips.clear()

        for _ in range(3):
            assert client.get("/api/tags").status_code == 200

    assert app.round_trips == {"statement": 3, "rollback": 3}


def test_a_connection_idle_longer_than_the_setting_is_pinged_before_use(monkeypatch):
    with pooled_app(monkeypatch, DATABASE_PING_AFTER_IDLE_SECONDS="0") as app:
        client = app.test_client()
        assert client.get("/api/tags").status_code == 200
        app.round_trips.clear()

        assert client.get("/api/tags").status_code == 200

    assert app.round_trips == {"ping": 1, "statement": 1, "rollback": 1}


def kill_pooled_connection(app, database) -> None:
    """Have the database end the one connection `app`'s pool holds, as a restart would."""
    with app.app_context(), db.engine.connect() as connection:
        connection_id = connection.scalar(text("SELECT CONNECTION_ID()"))
    database.execute(text(f"KILL {int(connection_id)}"))


@pytest.fixture
def mariadb_only(app):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite has no connection to lose")


@pytest.mark.usefixtures("mariadb_only")
def test_a_read_on_a_connection_the_database_dropped_is_served_by_a_new_one(monkeypatch, database):
    with pooled_app(monkeypatch) as app:
        client = app.test_client()
        assert client.get("/api/tags").status_code == 200
        kill_pooled_connection(app, database)
        app.round_trips.clear()

        response = client.get("/api/tags")

    assert response.status_code == 200
    assert response.get_json() == {"tags": []}
    assert app.round_trips["ping"] == 0  # used a moment ago: not pinged, the read was retried


@pytest.mark.usefixtures("mariadb_only")
def test_a_write_on_a_connection_the_database_dropped_is_not_retried(monkeypatch, database):
    with pooled_app(monkeypatch) as app:
        client = app.test_client()
        assert client.get("/api/tags").status_code == 200
        kill_pooled_connection(app, database)

        refused = client.post(
            "/api/users",
            json={
                "user": {
                    "username": "once",
                    "email": "once@example.com",
                    "password": "pw-long-enough-1",
                }
            },
        )
        served = client.get("/api/profiles/once")

    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "5"
    assert served.status_code == 404  # nothing was written; the pool had a new connection
