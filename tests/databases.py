"""The test databases: create, find and drop the one a URL names (an SQLite file or a MariaDB
database), and give a test run its schema without running every migration each time.

SQLAlchemy-Utils does the first three for `manage.py db create`, but importing it costs some
0.2 s of CPU (it loads every SQLAlchemy dialect), and each pytest worker imports every test
module: the tests use these instead.

The schema comes from the migrations, and a database remembers the digest of what it was
migrated from (`schema_fingerprint`: the migrations folder, app/types.py they import, and the
versions of the libraries that turn them into DDL): on MariaDB as the comment of its
`alembic_version` table, on SQLite as the name of a migrated file that each run copies. A
digest that differs, or none, and the database is dropped and migrated again: a run never uses
a stale schema, and never a row an earlier run left.
"""

import hashlib
import os
import sqlite3
import tempfile
from collections.abc import Callable
from contextlib import suppress
from functools import cache
from importlib.metadata import version
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import NullPool

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MIGRATIONS_FOLDER = PROJECT_ROOT / "migrations"
# What the migrations import besides SQLAlchemy, Alembic and SQLAlchemy-Utils.
SCHEMA_SOURCES = [PROJECT_ROOT / "app" / "types.py"]
SCHEMA_LIBRARIES = ["sqlalchemy", "alembic", "sqlalchemy-utils"]
# Migrated SQLite files, one per fingerprint, that runs and tests copy.
SQLITE_TEMPLATES = PROJECT_ROOT / "instance"


def database_exists(url: URL | str) -> bool:
    """Whether the database `url` names exists (an SQLite file, or a MariaDB database)."""
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        return url.database in (None, "", ":memory:") or Path(url.database).is_file()
    with server_connection(url) as connection:
        found = connection.execute(
            text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :name"),
            {"name": url.database},
        )
        return found.first() is not None


def create_database(url: URL | str) -> None:
    """Create the database `url` names (MariaDB: in utf8mb4)."""
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        if url.database not in (None, "", ":memory:"):
            sqlite3.connect(url.database).close()
        return
    with server_connection(url) as connection:
        name = connection.dialect.identifier_preparer.quote(url.database)
        connection.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))


def drop_database(url: URL | str) -> None:
    """Drop the database `url` names, if it exists."""
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        if url.database not in (None, "", ":memory:"):
            Path(url.database).unlink(missing_ok=True)
        return
    with server_connection(url) as connection:
        name = connection.dialect.identifier_preparer.quote(url.database)
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))


def connect_without_tls_through_pymysql() -> None:
    """Every PyMySQL connection this process opens, given no TLS option, does without TLS.

    Given none, PyMySQL (1.2) tries TLS in case the server offers it, and for that builds a
    new SSL context for each connection, loading the system's CA bundle into it (about 35 ms
    of CPU; a connection without it costs 0.4 ms), though it then verifies nothing with it.
    The tests open some 250 connections a run (the race tests: one per thread and request),
    to a test server that need not be reached through TLS.
    """
    from sqlalchemy.dialects.mysql.pymysql import MySQLDialect_pymysql

    if not event.contains(MySQLDialect_pymysql, "do_connect", skip_tls):
        event.listen(MySQLDialect_pymysql, "do_connect", skip_tls)


def skip_tls(dialect, connection_record, cargs, cparams) -> None:
    if not any(name.startswith("ssl") for name in cparams):
        cparams["ssl_disabled"] = True


def migrate() -> None:
    """Run every migration on the database of the current app (Alembic is imported only then:
    it loads every SQLAlchemy dialect)."""
    from flask_migrate import upgrade

    upgrade()


def server_connection(url: URL):
    """A connection to the server of `url`, in no database, that commits each statement."""
    server = URL.create(
        url.drivername, url.username, url.password, url.host, url.port, query=url.query
    )
    engine = create_engine(server, poolclass=NullPool)
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


@cache
def schema_fingerprint() -> str:
    """A digest of everything the migrated schema depends on."""
    digest = hashlib.sha256()
    sources = [path for path in MIGRATIONS_FOLDER.rglob("*") if "__pycache__" not in path.parts]
    for path in sorted(path for path in [*sources, *SCHEMA_SOURCES] if path.is_file()):
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    for library in SCHEMA_LIBRARIES:
        digest.update(f"{library}=={version(library)}\0".encode())
    return digest.hexdigest()[:32]


def sqlite_template() -> Path:
    """Where the migrated SQLite file of this fingerprint is kept (it may not exist yet)."""
    return SQLITE_TEMPLATES / f"test-schema-{schema_fingerprint()}.sqlite"


def keep_sqlite_template(migrated: Path) -> None:
    """Keep a copy of the freshly migrated SQLite file `migrated` as this fingerprint's
    template, replacing any other fingerprint's; in one step, for the processes that read it."""
    template = sqlite_template()
    template.parent.mkdir(exist_ok=True)
    for old in template.parent.glob("test-schema-*.sqlite"):
        if old != template:
            old.unlink(missing_ok=True)
    descriptor, copy = tempfile.mkstemp(dir=template.parent, suffix=".sqlite-partial")
    with os.fdopen(descriptor, "wb") as target, open(migrated, "rb") as source:
        target.write(source.read())
    os.replace(copy, template)


def prepare_schema(engine: Engine, migrate: Callable[[], None]) -> None:
    """Give the database of `engine` (created if missing) the migrated schema and no rows:
    SQLite copies this fingerprint's template (the first run migrates, with `migrate`, and keeps
    one); MariaDB keeps what the last run migrated if its fingerprint is this one, emptied, else
    drops every table and calls `migrate`."""
    engine.dispose()
    if engine.url.get_backend_name() == "sqlite":
        path = Path(engine.url.database)
        with suppress(FileNotFoundError):
            path.write_bytes(sqlite_template().read_bytes())
            return
        path.unlink(missing_ok=True)
        migrate()
        engine.dispose()
        keep_sqlite_template(path)
        return
    if not database_exists(engine.url):
        create_database(engine.url)
    with engine.connect() as connection:
        if mariadb_fingerprint(connection) == schema_fingerprint():
            delete_every_row(connection)
            return
        drop_every_table(connection)
    migrate()
    with engine.connect() as connection:
        comment = f"ALTER TABLE alembic_version COMMENT = '{schema_fingerprint()}'"
        connection.execute(text(comment))
        connection.commit()
    engine.dispose()


def mariadb_fingerprint(connection: Connection) -> str | None:
    """The fingerprint the last migration of this database recorded, if any."""
    found = connection.execute(
        text(
            "SELECT table_comment FROM information_schema.tables"
            " WHERE table_schema = DATABASE() AND table_name = 'alembic_version'"
        )
    ).first()
    return found[0] if found else None


def table_names(connection: Connection) -> list[str]:
    found = connection.execute(
        text("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")
    )
    return [name for (name,) in found]


def delete_every_row(connection: Connection) -> None:
    """Empty every table but `alembic_version` (rows a killed run may have committed)."""
    preparer = connection.dialect.identifier_preparer
    connection.execute(text("SET SESSION foreign_key_checks = 0"))
    for name in table_names(connection):
        if name != "alembic_version":
            connection.execute(text(f"DELETE FROM {preparer.quote(name)}"))
    connection.execute(text("SET SESSION foreign_key_checks = 1"))
    connection.commit()


def drop_every_table(connection: Connection) -> None:
    preparer = connection.dialect.identifier_preparer
    connection.execute(text("SET SESSION foreign_key_checks = 0"))
    for name in table_names(connection):
        connection.execute(text(f"DROP TABLE {preparer.quote(name)}"))
    connection.execute(text("SET SESSION foreign_key_checks = 1"))
    connection.commit()
