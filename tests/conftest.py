"""Fixtures: the schema is built once per run by the migrations; each test runs in a
transaction that is rolled back at its end, while the code under test commits into savepoints.

Flask-SQLAlchemy 3.1 ignores a session bound to a connection and asks `db.engines` for its
engine, so the test's connection is put there: every session and `db.engine` use it.
"""

import pytest
from flask_migrate import upgrade
from sqlalchemy import MetaData
from sqlalchemy_utils import create_database, database_exists

from app import create_app
from app.extensions import db
from tests.contract import ContractCheckingClient


def rebuild_schema() -> None:
    """Create the test database if missing, drop whatever it holds, run every migration."""
    engine = db.engine
    if not database_exists(engine.url):
        mysql = engine.url.get_backend_name() == "mysql"
        create_database(engine.url, encoding="utf8mb4" if mysql else None)
    existing = MetaData()
    existing.reflect(engine)
    existing.drop_all(engine)
    upgrade()


@pytest.fixture(scope="session")
def app():
    app = create_app("test")
    # Every response to a path of the RealWorld spec is checked against it (tests/contract.py).
    app.test_client_class = ContractCheckingClient
    with app.app_context():
        rebuild_schema()
        db.engine.dispose()
    # Commits and rollbacks of the code under test become savepoints of the test's transaction.
    db.session.session_factory.configure(join_transaction_mode="create_savepoint")
    return app


@pytest.fixture(scope="session")
def connection(app):
    """One connection for the whole run: a test costs a BEGIN and a ROLLBACK, no pool checkout."""
    with app.app_context():
        connection = db.engine.connect()
    yield connection
    connection.close()


@pytest.fixture(autouse=True)
def database(app, connection):
    """The test's connection, inside a transaction rolled back when the test ends."""
    with app.app_context():
        engines = db.engines
        engine = engines[None]
        transaction = connection.begin()
        engines[None] = connection  # type: ignore[index]
        try:
            yield connection
        finally:
            db.session.remove()
            engines[None] = engine  # type: ignore[index]
            transaction.rollback()


@pytest.fixture
def client(app):
    return app.test_client()
