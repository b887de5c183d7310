"""Fixtures: the schema comes from the migrations, run again only when they changed
(tests/databases.py); each test runs in a transaction that is rolled back at its end, while
the code under test commits into savepoints.

Flask-SQLAlchemy 3.1 ignores a session bound to a connection and asks `db.engines` for its
engine, so the test's connection is put there: every session and `db.engine` use it.

Under pytest-xdist each worker process (gw0, gw1, ...) has a database of its own, named after
the run's: `conduit_test` becomes `conduit_test_gw0`, `test.sqlite` becomes `test_gw0.sqlite`.
The worker's TEST_DATABASE_URL says so, for the app and for the processes its tests start.

A test that starts a process is marked `system` (`-m "not system"` leaves the API and unit
tests, which run in seconds); one that is not marked cannot start a process.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

# The app, SQLAlchemy and the contract checker are imported by the fixtures, not here: under
# pytest-xdist the main process loads this file too but runs no test (about 1 s of CPU saved).


def worker_database_url(url: URL, worker: str) -> URL:
    """The database of xdist worker `worker` (e.g. "gw0") beside the run's database `url`."""
    if url.get_backend_name() == "sqlite":
        path = Path(url.database)
        return url.set(database=str(path.with_name(f"{path.stem}_{worker}{path.suffix}")))
    return url.set(database=f"{url.database}_{worker}")


# Seconds each test file took in the last run that ran it (setup, call and teardown of its tests).
FILE_SECONDS = Path(__file__).resolve().parents[1] / "instance" / "test-file-seconds.json"
# The same of a full run on a quiet machine, committed for a fresh clone (CI), whose instance/
# has none yet; refreshed by hand (README, "Running the tests").
COMMITTED_FILE_SECONDS = Path(__file__).resolve().with_name("file-seconds.json")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest files first, so that in parallel runs no process is left alone with a long
    one at the end: by their seconds in the last run, and files with system tests first."""
    system_files = {item.path for item in items if item.get_closest_marker("system")}
    seconds = last_file_seconds()
    items.sort(
        key=lambda item: (item.path not in system_files, -seconds.get(collected_file(item), 0.0))
    )


def collected_file(item_or_report) -> str:
    """The file a test was collected from (its location names the file that defines it: for
    a test a class inherits, another file)."""
    return item_or_report.nodeid.split("::")[0]


def last_file_seconds() -> dict[str, float]:
    """The seconds of each file in the last run, else in the committed file."""
    return {**file_seconds(COMMITTED_FILE_SECONDS), **file_seconds(FILE_SECONDS)}


def file_seconds(path: Path) -> dict[str, float]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


ran_seconds: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Add up each file's seconds (under xdist, the main process gets every worker's reports)."""
    file = collected_file(report)
    ran_seconds[file] = ran_seconds.get(file, 0.0) + report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Keep the seconds of the files this run ran, beside those of the others."""
    if os.environ.get("PYTEST_XDIST_WORKER") or session.testsfailed or not ran_seconds:
        return
    FILE_SECONDS.parent.mkdir(exist_ok=True)
    FILE_SECONDS.write_text(json.dumps({**last_file_seconds(), **ran_seconds}, indent=0))


def pytest_configure(config: pytest.Config) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        from sqlalchemy.engine import make_url

        from config import get_config

        url = make_url(get_config("test").SQLALCHEMY_DATABASE_URI)
        own = worker_database_url(url, worker).render_as_string(hide_password=False)
        os.environ["TEST_DATABASE_URL"] = own


@pytest.fixture(scope="session")
def app():
    from app import create_app
    from app.extensions import db
    from tests.contract import ContractCheckingClient, openapi
    from tests.databases import connect_without_tls_through_pymysql, migrate, prepare_schema

    connect_without_tls_through_pymysql()
    app = create_app("test")
    # Every response to a path of the RealWorld spec is checked against it (tests/contract.py);
    # the checker is built here, once: built on first use, the race tests' twenty threads
    # would each build it at once (some 3 s of CPU).
    app.test_client_class = ContractCheckingClient
    openapi()
    with app.app_context():
        prepare_schema(db.engine, migrate)
    # Commits and rollbacks of the code under test become savepoints of the test's transaction.
    db.session.session_factory.configure(join_transaction_mode="create_savepoint")
    # What is loaded by now (modules, the app, the contract's schemas) lives as long as the
    # run: the garbage collector stops scanning it at each full collection (about 0.4 s of CPU
    # per process of the API tests).
    gc.freeze()
    return app


@pytest.fixture(scope="session")
def connection(app):
    """One connection for the whole run: a test costs a BEGIN and a ROLLBACK, no pool checkout."""
    from app.extensions import db

    with app.app_context():
        connection = db.engine.connect()
    yield connection
    connection.close()


@pytest.fixture(autouse=True)
def database(app, connection):
    """The test's connection, inside a transaction rolled back when the test ends."""
    from app.extensions import db

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


@pytest.fixture(autouse=True)
def no_process_unless_system(request, monkeypatch):
    """Refuse to start a process in a test not marked `system`: the fast subset stays fast."""
    if request.node.get_closest_marker("system") is None:

        def refuse(*args, **kwargs):
            raise AssertionError(
                f"{request.node.nodeid} starts a process: mark it @pytest.mark.system"
            )

        monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse)
