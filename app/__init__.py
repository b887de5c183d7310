"""The application factory: one Flask app, one blueprint per service, shared extensions.

The hooks and decorators that run on every request read flask's `request`, `g` and
`current_app` through `_get_current_object()` (Flask's documented way to the object behind a
proxy), once each: an attribute read on the proxy itself raises and catches an AttributeError
inside werkzeug's LocalProxy, some 7,000 instructions, and a read cache hit paid two dozen.
"""

import importlib
from collections.abc import Callable
from functools import lru_cache

from flask import Flask, Request
from flask.sessions import NullSession, SessionInterface
from sqlalchemy import event
from werkzeug.datastructures import EnvironHeaders
from werkzeug.routing import IntegerConverter

from config import get_config

from .cache import init_read_cache
from .cli import register_commands
from .engines import init_autocommit_reads, prepare_pool
from .errors import register_error_handlers
from .extensions import cors, db, migrate
from .idempotency import init_idempotency, mark_executed
from .logs import configure_logging, init_request_ids
from .metrics import init_metrics, init_worker_metrics
from .ratelimits import init_rate_limits
from .replicas import init_replicas
from .responses import FastJSONProvider
from .sentry import init_sentry
from .tasks import init_celery
from .tracing import init_tracing
from .transactions import run_retried

# Each service is a package in blueprints/ exporting `blueprint`, served under /api;
# ROOT_SERVICES are served at the root (health checks for load balancers and deploys).
SERVICES = ["users", "profiles", "articles", "comments", "tags", "clients", "webhooks", "docs"]
ROOT_SERVICES = ["health"]
API_PREFIX = "/api"


@lru_cache(maxsize=256)
def environ_key(header: str) -> str:
    """Where the WSGI environ keeps a request header."""
    key = header.upper().replace("-", "_")
    return key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"


class RequestHeaders(EnvironHeaders):
    """A request's headers, as werkzeug reads them, but a missing one costs no KeyError raised
    and caught (most requests lack most of the headers the hooks look for)."""

    def get(self, key, default=None, type=None):  # type: ignore[override]
        value = self.environ.get(environ_key(key)) if isinstance(key, str) else None
        if value is None or type is None:
            return default if value is None else value
        try:
            return type(value)
        except ValueError:
            return default

    def __contains__(self, key) -> bool:  # type: ignore[override]
        return isinstance(key, str) and environ_key(key) in self.environ


class ConduitRequest(Request):
    def __init__(self, environ, populate_request: bool = True, shallow: bool = False) -> None:
        super().__init__(environ, populate_request, shallow)
        self.headers = RequestHeaders(environ)


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: at most ten digits, as every id is (32-bit keys). A longer
    number matches no route (404) instead of reaching the database, which cannot even compare
    it (SQLite stops at 64 bits)."""

    regex = r"\d{1,10}"


class NoSessions(SessionInterface):
    """The API keeps no cookie session (callers send tokens): no session is opened or saved,
    which Flask's default would do on every request."""

    null_session = NullSession()  # it refuses every write: one serves every request

    def open_session(self, app, request) -> NullSession:
        return self.null_session


class Conduit(Flask):
    """Flask, with each view run as one transaction that a deadlock runs again (the view
    commits once; app/transactions.py), which marks an idempotency key it holds executed."""

    session_interface = NoSessions()
    request_class = ConduitRequest

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sync_functions: dict[Callable, Callable] = {}

    def dispatch_request(self):  # type: ignore[override]
        return run_retried(self.dispatch_marked_request, self.config["DATABASE_RETRY_ATTEMPTS"])

    def dispatch_marked_request(self):
        mark_executed()
        return super().dispatch_request()

    def ensure_sync(self, func: Callable) -> Callable:
        # Flask asks for each hook and view of each request; the answer never changes.
        sync = self.sync_functions.get(func)
        if sync is None:
            sync = self.sync_functions[func] = super().ensure_sync(func)
        return sync


def create_app(config_name: str | None = None) -> Flask:
    """Build the app for `config_name` (development, test, production; else $CONDUIT_CONFIG)."""
    app = Conduit(__name__, static_folder=None)
    app.config.from_object(get_config(config_name))
    app.json = FastJSONProvider(app)
    configure_logging(app)
    init_sentry(app)
    init_request_ids(app)
    register_error_handlers(app)

    db.init_app(app)
    migrate.init_app(app, db)
    with app.app_context():
        for engine in db.engines.values():
            prepare_engine(engine, app.config["SQLITE_BEGIN"])
            prepare_pool(engine, app.config["DATABASE_PING_AFTER_IDLE_SECONDS"])
        init_autocommit_reads(app, db.engine)
    init_replicas(app, API_PREFIX)
    init_celery(app)
    init_cors(app)
    init_read_cache(app)

    app.url_map.converters["int"] = IdConverter
    for service in SERVICES:
        app.register_blueprint(service_blueprint(service), url_prefix=API_PREFIX)
    for service in ROOT_SERVICES:
        app.register_blueprint(service_blueprint(service))
    init_metrics(app)
    init_worker_metrics(app)
    init_tracing(app)

    init_rate_limits(app)
    # After the services' own before_request hooks (the client key check among them).
    init_idempotency(app)
    register_commands(app)
    return app


def init_cors(app: Flask) -> None:
    """Let browsers on the CORS_ORIGINS call the API (preflights and error responses too).
    With none listed, no response would carry a CORS header: nothing is checked at all."""
    if not app.config["CORS_ORIGINS"]:
        return
    cors.init_app(
        app,
        resources={f"{API_PREFIX}/*": {"origins": app.config["CORS_ORIGINS"]}},
        allow_headers=[
            "Authorization",
            "Content-Type",
            "X-Client-Key",
            "X-Request-ID",
            "Idempotency-Key",
        ],
        expose_headers=["X-Request-ID", "Idempotent-Replayed"],
        max_age=600,
    )


def service_blueprint(service: str):
    """The blueprint of `blueprints/<service>/`."""
    return importlib.import_module(f"blueprints.{service}").blueprint


def prepare_engine(engine, sqlite_begin: str = "BEGIN") -> None:
    """SQLite: enforce foreign keys, and let SQLAlchemy own transactions so SAVEPOINT works."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, connection_record):
        # pysqlite's own BEGIN handling breaks SAVEPOINT; SQLAlchemy's documented workaround.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql(sqlite_begin)
