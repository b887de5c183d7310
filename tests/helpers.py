"""Helpers that read like the domain: headers for a user or a client, counting queries."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from app.events import event_published
from app.extensions import db
from app.security import issue_token
from blueprints.clients.services import create_client

# A key production accepts (long, random, not published anywhere but in this test helper).
PRODUCTION_SECRET_KEY = "_804sM48lTRHmNlzKCRxd75D8hMGSiUraRvfikBOD0rB_65CeaDEbtwiNsH2h0-p"

PRODUCTION_WEBHOOK_SECRET_KEY = "hYjJjt1w1ow3I1dyDoDsXYDw0Ew4QjWq5e4Wt5Ua3nk="


def set_production_secrets(monkeypatch) -> None:
    """The secrets and shared stores production requires (config tests never connect to them)."""
    monkeypatch.setenv("SECRET_KEY", PRODUCTION_SECRET_KEY)
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://redis.internal:6379/0")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://redis.internal:6379/0")
    monkeypatch.setenv("WEBHOOK_SECRET_KEYS", PRODUCTION_WEBHOOK_SECRET_KEY)


def auth_headers(user) -> dict[str, str]:
    """Headers that authenticate as `user`."""
    return {"Authorization": f"Token {issue_token(user.id, user.token_generation)}"}


def client_key_headers(name: str = "test client") -> dict[str, str]:
    """Headers that identify a new API client called `name` (created and committed)."""
    _, key = create_client(name)
    db.session.commit()
    return {"X-Client-Key": key}


def json_headers(user=None) -> dict[str, str]:
    """Headers for a JSON request, authenticated as `user` when given."""
    headers = {"Content-Type": "application/json"}
    if user is not None:
        headers.update(auth_headers(user))
    return headers


@contextmanager
def counted_queries() -> Iterator[list[str]]:
    """Collect the SQL statements the test's connection runs inside the block."""
    statements: list[str] = []
    connection = db.engines[None]

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(connection, "before_cursor_execute", record)


@contextmanager
def published_events() -> Iterator[list[tuple[str, dict]]]:
    """Collect the (event_type, data) pairs published inside the block (app.events)."""
    events: list[tuple[str, dict]] = []

    def receive(sender, event_type, data):
        events.append((event_type, data))

    with event_published.connected_to(receive):
        yield events
