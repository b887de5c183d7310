"""Real concurrency on MariaDB: requests in threads, each on a connection of its own, that
commit for real (outside the test's transaction). A test using it deletes what it made."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from app.extensions import db

THREAD_DEADLINE_SECONDS = 120


def require_mariadb(app) -> str:
    """The database URL of the run; skips the test on SQLite, which admits one writer at a
    time, so writers there cannot overlap."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("mysql"):
        pytest.skip("SQLite admits one writer at a time: writers cannot overlap")
    return url


@contextmanager
def committing_for_real(app) -> Iterator[None]:
    """Inside the block, the app's sessions use a real engine: every request (in any thread)
    gets a connection of its own and its commits are real."""
    url = require_mariadb(app)
    engines = db.engines
    test_connection = engines[None]
    real_engine = create_engine(url, poolclass=NullPool)
    engines[None] = real_engine
    try:
        yield
    finally:
        engines[None] = test_connection
        real_engine.dispose()


def in_parallel(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(0)` ... `work(count - 1)` in `count` threads released at once; their results
    in order (an exception in a thread is re-raised here)."""
    start = threading.Barrier(count)
    results: list[Any] = [None] * count
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            start.wait(timeout=30)
            results[index] = work(index)
        except BaseException as error:  # re-raised in the test's thread
            failures.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=THREAD_DEADLINE_SECONDS)
    if failures:
        raise failures[0]
    assert not any(thread.is_alive() for thread in threads), "a request never finished"
    return results
