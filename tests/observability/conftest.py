"""Fixtures of the observability tests: an app with metrics on, on the test's connection."""

import pytest

from app import create_app
from app.extensions import db
from tests.webhooks.conftest import private_targets, receiver  # noqa: F401  (fixtures)

METRICS_TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture(scope="module")
def metrics_app(connection):
    """An app with METRICS_TOKEN set, whose sessions use the run's connection (each test's
    transaction, rolled back at its end, as for the main app)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("METRICS_TOKEN", METRICS_TOKEN)
        app = create_app("test")
    with app.app_context():
        engines = db.engines
        engine = engines[None]
        engines[None] = connection  # type: ignore[index]
    yield app
    with app.app_context():
        db.engines[None] = engine  # type: ignore[index]


@pytest.fixture
def metrics_client(metrics_app):
    yield metrics_app.test_client()
    with metrics_app.app_context():
        db.session.remove()
