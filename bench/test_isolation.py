#!/usr/bin/env python
"""Benchmark of test isolation: the project's transactional fixture against drop/create.

Generates the same N tests (each registers users through the test client and creates a row)
into a temporary folder and runs pytest on them twice, as a subprocess from the project root, on
MariaDB with the full schema:

- transactional: the project's own fixtures, imported from tests/conftest.py (schema built once
  by the migrations; each test inside an outer transaction rolled back at its end);
- drop/create: `db.create_all()` before each test and `db.drop_all()` after it.

Prints the seconds of each run, their ratio, and each fixture's own setup + teardown time per
test, measured around the `database` fixture by pytest hooks (time.perf_counter).

    .venv/bin/python bench/test_isolation.py [--database-url URL] [--tests 200]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "mysql+pymysql://root@127.0.0.1:3306/conduit_bench"
TARGET_OVERHEAD_MS = 3.0

# Hooks timing the `database` fixture: its setup (up to its yield) and its teardown (from the
# start of the test's teardown to the end of its finalizer; the only other function fixture,
# `client`, has nothing to tear down). Results go to $BENCH_TIMINGS_FILE.
TIMING_HOOKS = """
import json
import os
import time

import pytest

_timings = {"setup": [], "teardown": [], "session": 0.0}
_marks = {}


def pytest_sessionstart(session):
    _marks["session"] = time.perf_counter()


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    if fixturedef.argname != "database":
        return (yield)
    started = time.perf_counter()
    try:
        return (yield)
    finally:
        _timings["setup"].append(time.perf_counter() - started)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    _marks["teardown"] = time.perf_counter()
    return (yield)


def pytest_fixture_post_finalizer(fixturedef, request):
    if fixturedef.argname == "database" and "teardown" in _marks:
        _timings["teardown"].append(time.perf_counter() - _marks.pop("teardown"))


def pytest_sessionfinish(session, exitstatus):
    _timings["session"] = time.perf_counter() - _marks["session"]
    _timings["exitstatus"] = int(exitstatus)
    with open(os.environ["BENCH_TIMINGS_FILE"], "w") as timings_file:
        json.dump(_timings, timings_file)
"""

TRANSACTIONAL_CONFTEST = '''
"""The project's own fixtures, unchanged: app, database (transactional), client."""

from tests.conftest import *  # noqa: F403
'''

DROP_CREATE_CONFTEST = '''
"""Isolation by rebuilding: every table created before each test and dropped after it."""

import pytest
from sqlalchemy import MetaData
from sqlalchemy_utils import create_database, database_exists

from app import create_app
from app.extensions import db
from tests.conftest import client  # noqa: F401


@pytest.fixture(scope="session")
def app():
    app = create_app("test")
    with app.app_context():
        engine = db.engine
        if not database_exists(engine.url):
            create_database(engine.url, encoding="utf8mb4")
        existing = MetaData()
        existing.reflect(engine)
        existing.drop_all(engine)
    return app


@pytest.fixture(autouse=True)
def database(app):
    with app.app_context():
        db.create_all()
        try:
            yield db.engine
        finally:
            db.session.remove()
            db.drop_all()
'''

# Every test uses the same usernames: a row leaking from one test into the next would make the
# next registration fail with 422 "has already been taken".
TEST_HEADER = '''
"""Generated: each test registers users through the API and creates a row."""


def register(client, username):
    response = client.post(
        "/api/users",
        json={"user": {"username": username, "email": f"{username}@example.com",
                       "password": "bench-password"}},
    )
    assert response.status_code == 201, response.get_json()
    return {"Authorization": "Token " + response.get_json()["user"]["token"]}
'''

FOLLOW_TEST = """

def test_registered_user_follows_another_{number}(client):
    register(client, "zoe")
    headers = register(client, "yann")

    response = client.post("/api/profiles/zoe/follow", headers=headers)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["profile"]["following"] is True
"""

ARTICLE_TEST = """

def test_registered_user_writes_an_article_{number}(client):
    headers = register(client, "zoe")

    response = client.post(
        "/api/articles",
        headers=headers,
        json={"article": {"title": "Bench {number}", "description": "d", "body": "b",
                          "tagList": ["bench"]}},
    )

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["article"]["author"]["username"] == "zoe"
"""

TESTS_PER_FILE = 50


def articles_service_present() -> bool:
    """Whether the app serves POST /api/articles (then the tests create articles, else follows)."""
    sys.path.insert(0, str(PROJECT_ROOT))
    from app import create_app

    rules = create_app("test").url_map.iter_rules()
    return any(rule.rule == "/api/articles" and "POST" in rule.methods for rule in rules)


def generate(folder: Path, conftest: str, test_count: int, workload: str) -> None:
    """Write a conftest (fixtures + timing hooks) and `test_count` tests into `folder`."""
    folder.mkdir(parents=True)
    (folder / "conftest.py").write_text(conftest + TIMING_HOOKS)
    template = ARTICLE_TEST if workload == "article" else FOLLOW_TEST
    for first in range(0, test_count, TESTS_PER_FILE):
        numbers = range(first, min(first + TESTS_PER_FILE, test_count))
        tests = (template.replace("{number}", str(number)) for number in numbers)
        body = TEST_HEADER + "".join(tests)
        (folder / f"test_generated_{first // TESTS_PER_FILE:02d}.py").write_text(body)


def run_pytest(folder: Path, database_url: str, test_count: int) -> dict:
    """Run pytest on `folder` from the project root; return timings and the wall seconds."""
    timings_file = folder / "timings.json"
    environment = {
        **os.environ,
        "TEST_DATABASE_URL": database_url,
        "CONDUIT_CONFIG": "test",
        "BENCH_TIMINGS_FILE": str(timings_file),
    }
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(PROJECT_ROOT),
        "-c",
        str(PROJECT_ROOT / "pyproject.toml"),
        str(folder),
    ]
    started = time.perf_counter()
    result = subprocess.run(
        command, cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-6000:] + result.stderr[-3000:])
        raise SystemExit(f"bench: pytest failed in {folder.name} (exit {result.returncode})")
    timings = json.loads(timings_file.read_text())
    if len(timings["setup"]) != test_count or len(timings["teardown"]) != test_count:
        raise SystemExit(f"bench: timed {len(timings['setup'])} setups for {test_count} tests")
    pairs = zip(timings["setup"], timings["teardown"], strict=True)
    fixture_ms = [1000 * (setup + teardown) for setup, teardown in pairs]
    return {
        "wall": wall,
        "session": timings["session"],
        "setup_ms": 1000 * statistics.mean(timings["setup"]),
        "teardown_ms": 1000 * statistics.mean(timings["teardown"]),
        "fixture_ms": fixture_ms,
    }


def rows_left(database_url: str, table: str) -> int:
    """Rows in `table`, seen from a connection of its own (only what is really committed)."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table(table):
                return 0
            return connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
    finally:
        engine.dispose()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--tests", type=int, default=200, help="how many tests (default 200)")
    parser.add_argument(
        "--workload",
        choices=["auto", "follow", "article"],
        default="auto",
        help="row each test creates: an article once the articles service exists, else a follow",
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated tests")
    arguments = parser.parse_args()

    workload = arguments.workload
    if workload == "auto":
        workload = "article" if articles_service_present() else "follow"
    folder = Path(tempfile.mkdtemp(prefix="conduit_bench_isolation_"))
    runs = {
        "transactional": TRANSACTIONAL_CONFTEST,
        "drop/create": DROP_CREATE_CONFTEST,
    }
    print(
        f"{arguments.tests} generated tests (register + {workload}) on {arguments.database_url}",
        flush=True,
    )
    results = {}
    leaked = None
    for name, conftest in runs.items():
        run_folder = folder / name.replace("/", "_")
        generate(run_folder, conftest, arguments.tests, workload)
        results[name] = run_pytest(run_folder, arguments.database_url, arguments.tests)
        if name == "transactional":
            leaked = rows_left(arguments.database_url, "users")
    if not arguments.keep:
        import shutil

        shutil.rmtree(folder)
    else:
        print(f"generated tests kept in {folder}")

    print()
    print(
        f"{'isolation':<14} {'wall s':>7} {'pytest s':>9} {'ms/test':>8}"
        f"  |  fixture ms per test: {'setup':>6} {'teardown':>9} {'total':>6}"
        f" {'median':>7} {'p95':>6}"
    )
    for name, result in results.items():
        fixture_ms = result["fixture_ms"]
        print(
            f"{name:<14} {result['wall']:>7.2f} {result['session']:>9.2f}"
            f" {1000 * result['session'] / arguments.tests:>8.1f}"
            f"  |  {'':<20} {result['setup_ms']:>6.2f} {result['teardown_ms']:>9.2f}"
            f" {statistics.mean(fixture_ms):>6.2f}"
            f" {statistics.median(fixture_ms):>7.2f} {percentile(fixture_ms, 0.95):>6.2f}"
        )
    transactional, drop_create = results["transactional"], results["drop/create"]
    overhead = statistics.mean(transactional["fixture_ms"])
    print()
    print(
        f"ratio drop/create : transactional = {drop_create['wall'] / transactional['wall']:.1f}x"
        f" (wall), {drop_create['session'] / transactional['session']:.1f}x (pytest session)"
    )
    verdict = "met" if overhead < TARGET_OVERHEAD_MS else "NOT met"
    print(
        f"transactional fixture overhead: {overhead:.2f} ms per test"
        f" (target < {TARGET_OVERHEAD_MS:g} ms: {verdict})"
    )
    print(f"users rows committed by the transactional run: {leaked} (expected 0)")
    if leaked:
        raise SystemExit("bench: the transactional run leaked rows")


if __name__ == "__main__":
    main()
