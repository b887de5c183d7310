"""Readiness probes: can this process reach the database and the broker right now?

Each probe opens its own short-lived connection with short timeouts, so a dead or silent
dependency makes /readyz answer 503 in seconds instead of holding a worker. The answers are
kept for a second in each process: load balancers polling every web process often cost one
probe a second. Whether the process is draining (gunicorn got TERM, or a deploy retires it) is
read on every request: it costs nothing and must show at once.
"""

import logging
import os
import threading
import time

from flask import Flask, current_app
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

PROBE_TIMEOUT_SECONDS = 2
CACHE_SECONDS = 1.0

log = logging.getLogger(__name__)


def probe_engine(app: Flask) -> Engine:
    """An engine on the app's database that never pools and gives up quickly."""
    engine = app.extensions.get("readiness_engine")
    if engine is None:
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        if url.startswith("mysql"):
            timeouts = {
                "connect_timeout": PROBE_TIMEOUT_SECONDS,
                "read_timeout": PROBE_TIMEOUT_SECONDS,
                "write_timeout": PROBE_TIMEOUT_SECONDS,
            }
        else:
            timeouts = {"timeout": PROBE_TIMEOUT_SECONDS}
        engine = create_engine(url, poolclass=NullPool, connect_args=timeouts)
        app.extensions["readiness_engine"] = engine
    return engine


_cache_lock = threading.Lock()


def readiness_problems() -> dict[str, list[str]]:
    """Why this process should not get new requests, by part; each list empty when fine."""
    problems = dependency_problems()
    draining = current_app.extensions.get("draining")  # set by gunicorn's hooks (deploy/)
    if draining is not None and draining():
        return {"process": ["draining"], **problems}
    return problems


def dependency_problems() -> dict[str, list[str]]:
    """The database's and the broker's problems, probed at most once a second."""
    app = current_app._get_current_object()
    with _cache_lock:
        checked_at, problems = app.extensions.get("readiness_cache", (float("-inf"), None))
        if problems is None or time.monotonic() - checked_at >= CACHE_SECONDS:
            problems = {"database": database_problems(), "broker": broker_problems()}
            app.extensions["readiness_cache"] = (time.monotonic(), problems)
        return problems


def database_problems() -> list[str]:
    """Why the database cannot be used now; empty when it answers."""
    try:
        with probe_engine(current_app).connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        log.warning("readiness: database unreachable: %s", error)
        return ["unreachable"]
    return []


def broker_problems() -> list[str]:
    """Why tasks cannot be sent now; empty when the broker accepts connections."""
    celery = current_app.extensions["celery"]
    options = dict(celery.conf.broker_transport_options or {})
    options.update(
        socket_connect_timeout=PROBE_TIMEOUT_SECONDS, socket_timeout=PROBE_TIMEOUT_SECONDS
    )
    try:
        with celery.connection_for_write(transport_options=options) as connection:
            connection.ensure_connection(
                max_retries=1, interval_start=0, timeout=PROBE_TIMEOUT_SECONDS
            )
            if connection.transport.driver_type == "filesystem":
                return filesystem_problems(options)
    except Exception as error:
        log.warning("readiness: broker unreachable: %s", error)
        return ["unreachable"]
    return []


def filesystem_problems(options: dict) -> list[str]:
    """The filesystem broker works while its folders exist and are writable."""
    folders = {options.get("data_folder_in"), options.get("data_folder_out")} - {None}
    missing = sorted(f for f in folders if not os.access(f, os.W_OK | os.X_OK))
    if missing:
        log.warning("readiness: broker folders not writable: %s", ", ".join(missing))
        return ["queue folder not writable"]
    return []
