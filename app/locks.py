"""Locks that hold across every process and host of the fleet."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from .extensions import db


@contextmanager
def fleet_lock(name: str) -> Iterator[bool]:
    """Yield whether this process holds `name`, which one process of the fleet holds at a
    time; never waits. On MariaDB a named lock of the primary (GET_LOCK), held by a connection
    of its own, so it goes when the process does, however it ends. SQLite serves one host, and
    the lock is always taken there."""
    engine = db.engine
    if engine.dialect.name != "mysql" or not hasattr(engine, "connect"):
        # (A test's connection stands in for the engine: it runs alone.)
        yield True
        return
    with engine.connect() as connection:
        held = connection.execute(text("SELECT GET_LOCK(:name, 0)"), {"name": name}).scalar()
        try:
            yield held == 1
        finally:
            if held == 1:
                connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
