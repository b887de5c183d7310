"""How pooled database connections are checked and reset: as few round trips as is safe.

Every engine option lives in `config.base.engine_options`; the pool's behaviour lives here, so
a second engine (a read replica) gets the same by calling `prepare_pool` on it.

- No ping before every use (a round trip per request): a connection idle for longer than
  `DATABASE_PING_AFTER_IDLE_SECONDS` is pinged when checked out, and replaced if the ping fails.
  A connection used a moment ago is alive unless the database went away since; when a request
  meets such a dead connection, SQLAlchemy discards every connection of the pool that predates
  the failure, and a read (GET, HEAD) is tried once more on a new one (`app.errors`).
- One ROLLBACK per request, not two: a connection goes back to the pool without the pool's own
  rollback when its last transaction already ended (the session's ROLLBACK or COMMIT).
- None for a read (MariaDB): GET and HEAD requests read on a second pool whose connections are
  in autocommit (`init_autocommit_reads`, routed by app/sessions.py), so each statement is a
  transaction of its own and the request ends without a round trip. What a hot read shows
  comes from one statement (a page with its total, or with the total the read cache keeps at
  its generation; one article); its other statements (the viewer, a tag's size) only choose
  what to read. A write in such a request (a flush, an INSERT/UPDATE/DELETE) and a locking
  read go to the primary pool in a transaction, and so do the request's reads after a write,
  which must see it.
"""

import time

from flask import Flask
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

IN_TRANSACTION = "conduit_in_transaction"
IDLE_SINCE = "conduit_idle_since"
READ_ENGINE = "database_reader"  # app.extensions: the autocommit pool of GETs and HEADs


def prepare_pool(engine: Engine, ping_after_idle: float) -> None:
    """Ping only connections idle longer than `ping_after_idle` seconds; skip the pool's reset
    ROLLBACK of connections whose transaction already ended (pool_reset_on_return=None)."""

    @event.listens_for(engine, "begin")
    def began(connection) -> None:
        connection.info[IN_TRANSACTION] = True

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def ended(connection) -> None:
        if not connection.invalidated:  # an invalidated connection is discarded, not reset
            connection.info[IN_TRANSACTION] = False

    @event.listens_for(engine, "reset")
    def reset(dbapi_connection, connection_record, reset_state) -> None:
        # Anything still open (a transaction cut short, a raw DBAPI use) is rolled back.
        if reset_state.terminate_only or not connection_record.info.get(IN_TRANSACTION, True):
            return
        dbapi_connection.rollback()
        connection_record.info[IN_TRANSACTION] = False

    @event.listens_for(engine, "checkin")
    def checked_in(dbapi_connection, connection_record) -> None:
        connection_record.info[IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def checked_out(dbapi_connection, connection_record, connection_proxy) -> None:
        idle_since = connection_record.info.get(IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < ping_after_idle:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool discards this connection and checks out another (a new one if need be).
            raise DisconnectionError(f"ping after idle failed: {error}") from error


def init_autocommit_reads(app: Flask, engine: Engine) -> None:
    """On MariaDB with DATABASE_AUTOCOMMIT_READS: a second pool on `engine`'s database, in
    autocommit, for the reads of GET and HEAD requests (app.extensions[READ_ENGINE])."""
    if not app.config["DATABASE_AUTOCOMMIT_READS"] or engine.dialect.name not in (
        "mysql",
        "mariadb",
    ):
        return
    app.extensions[READ_ENGINE] = autocommit_engine(
        engine,
        app.config["SQLALCHEMY_ENGINE_OPTIONS"],
        app.config["DATABASE_PING_AFTER_IDLE_SECONDS"],
    )


def autocommit_engine(engine: Engine, engine_options: dict, ping_after_idle: float) -> Engine:
    """A pool on `engine`'s database whose connections are in autocommit, and which sends no
    ROLLBACK when a session closes (there is no transaction to end)."""
    reader = create_engine(
        engine.url, isolation_level="AUTOCOMMIT", skip_autocommit_rollback=True, **engine_options
    )
    prepare_pool(reader, ping_after_idle)
    return reader
