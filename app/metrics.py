"""Prometheus metrics of the web app and the Celery worker (prometheus-client).

Off unless configured: the web records requests when METRICS_BIND or METRICS_TOKEN is set, the
worker records tasks and serves them when WORKER_METRICS_BIND is set. Under gunicorn every
worker writes into the multiprocess folder and the master serves the sum (deploy/metrics.py);
with METRICS_TOKEN, `GET /metrics` with `Authorization: Bearer <token>` serves the same on the
API's listener. Gauges that describe the database (the outbox) are read at scrape time, from
collectors the services register with `collect_at_scrape`.
"""

import atexit
import hmac
import json
import logging
import os
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable
from contextvars import ContextVar

from celery import signals
from flask import Flask, Response, request
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.engine import Engine

from deploy.metrics import serve, web_registry

log = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
SCRAPE_COLLECTORS = "scrape_collectors"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "<unmatched>"
# How long request metrics may wait in a process's memory before they are written (see
# RequestMetrics): what a scrape of the master may miss.
WRITE_SECONDS = 0.5

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
DB_TIME_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)
STATEMENT_BUCKETS = (0, 1, 2, 3, 5, 8, 13, 21, 50, 100)
LAG_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400)
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 90)

http_requests = Counter("http_requests", "HTTP requests answered", ["method", "route", "status"])
http_request_duration = Histogram(
    "http_request_duration_seconds",
    "Time to answer a request, by URL rule",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
db_statements_per_request = Histogram(
    "db_statements_per_request",
    "SQL statements one request ran",
    ["route"],
    buckets=STATEMENT_BUCKETS,
)
db_time = Histogram(
    "db_time_seconds",
    "Time one request spent in SQL statements",
    ["route"],
    buckets=DB_TIME_BUCKETS,
)
rate_limit_rejections = Counter(
    "rate_limit_rejections", "Requests refused by a rate limit (429)", ["route"]
)
build_info = Gauge(
    "conduit_build_info", "The running release (always 1)", ["release"], multiprocess_mode="livemax"
)
# Set by the replicas' lag checks: seconds each read replica is behind the primary.
db_replica_lag = Gauge(
    "db_replica_lag_seconds",
    "How far a read replica is behind the primary",
    ["replica"],
    multiprocess_mode="livemax",
)
task_runtime = Histogram(
    "task_runtime_seconds", "Time a Celery task ran", ["task"], buckets=TASK_BUCKETS
)
tasks = Counter("tasks", "Celery tasks run, by final state", ["task", "state"])
webhook_deliveries = Counter(
    "webhook_deliveries",
    "Webhook delivery attempts, by outcome: delivered, retry (will be tried again), failed",
    ["event", "outcome"],
)
webhook_delivery_lag = Histogram(
    "webhook_delivery_lag_seconds",
    "From the commit that caused an event to its delivery (2xx)",
    buckets=LAG_BUCKETS,
)
webhook_attempt_duration = Histogram(
    "webhook_attempt_duration_seconds",
    "Time one webhook HTTP attempt took, to the receiver's answer or the error",
    buckets=LATENCY_BUCKETS,
)

# While a request is served: [statements run, seconds spent in them], for the db_* histograms.
_request_sql: ContextVar[list | None] = ContextVar("request_sql", default=None)


def init_metrics(app: Flask) -> None:
    """Record requests (and their SQL) when the web's metrics are on; serve them to the token."""
    config = app.config
    if not (config["METRICS_BIND"] or config["METRICS_TOKEN"]):
        return
    build_info.labels(config["RELEASE"]).set(1)
    # First of the before_request functions, so the time covers the others too.
    app.before_request_funcs.setdefault(None, []).insert(0, start_request_timer)
    app.after_request(record_request)
    app.teardown_request(forget_request_sql)
    count_statements()
    if config["METRICS_TOKEN"]:
        app.wsgi_app = TokenMetricsEndpoint(  # type: ignore[method-assign]
            app.wsgi_app, config["METRICS_TOKEN"], lambda: scrape_registry(app, os.getppid)
        )


def collect_at_scrape(app: Flask, collector: Collector) -> None:
    """Have `collector` read at each scrape of `app`'s metrics (web token endpoint, worker)."""
    app.extensions.setdefault(SCRAPE_COLLECTORS, []).append(collector)


def scrape_registry(app: Flask, master_pid: Callable[[], int]) -> Collector:
    """Everything a scrape of this process reads."""
    return web_registry(master_pid, extra=app.extensions.get(SCRAPE_COLLECTORS, ()))


def start_request_timer() -> None:
    """Before a request: note when it started, and start counting its SQL."""
    request._get_current_object().environ["conduit.started"] = time.perf_counter()
    _request_sql.set([0, 0.0])


def record_request(response: Response) -> Response:
    """After a request: count it, observe its duration and its SQL, by URL rule."""
    answered = request._get_current_object()  # one lookup through the proxy, not three
    started = answered.environ.get("conduit.started")
    if started is None:
        return response
    elapsed = time.perf_counter() - started
    rule = answered.url_rule
    status = response.status_code
    route = rule.rule if rule is not None else UNMATCHED_ROUTE
    request_metrics.record(answered.method, route, status, elapsed, _request_sql.get())
    if status == 429:
        rate_limit_rejections.labels(route).inc()
    return response


class PendingHistogram:
    """Observations of one histogram series not yet written: their sum and bucket counts."""

    def __init__(self, series: Histogram) -> None:
        self.series = series
        self.bounds = series._upper_bounds  # the last is +Inf
        self.clear()

    def clear(self) -> None:
        self.sum = 0.0
        self.counts = [0] * len(self.bounds)

    def observe(self, value: float) -> None:
        self.sum += value
        self.counts[bisect_left(self.bounds, value)] += 1  # the first bound >= value

    def write(self) -> None:
        self.series._sum.inc(self.sum)
        for bucket, count in zip(self.series._buckets, self.counts, strict=True):
            if count:
                bucket.inc(count)
        self.clear()


class RequestSeries:
    """What one method and route record into: their series, looked up once (prometheus-client's
    `labels()` checks and converts its values on every call), and what awaits writing."""

    def __init__(self, method: str, route: str) -> None:
        self.method, self.route = method, route
        self.duration = PendingHistogram(http_request_duration.labels(method, route))
        self.statements = PendingHistogram(db_statements_per_request.labels(route))
        self.db_time = PendingHistogram(db_time.labels(route))
        self.by_status: dict[int, int] = {}

    def record(self, status: int, elapsed: float, sql: list | None) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + 1
        self.duration.observe(elapsed)
        if sql is not None:
            self.statements.observe(sql[0])
            self.db_time.observe(sql[1])

    def clear(self) -> None:
        self.by_status.clear()
        for pending in (self.duration, self.statements, self.db_time):
            pending.clear()

    def write(self) -> None:
        for status, count in self.by_status.items():
            http_requests.labels(self.method, self.route, status).inc(count)
        self.by_status.clear()
        for pending in (self.duration, self.statements, self.db_time):
            pending.write()


class RequestMetrics:
    """Each process's request metrics. Under gunicorn (prometheus-client's multiprocess mode)
    each value written is a locked write into a memory-mapped file, some 40 µs a request: here
    requests are summed in memory and written at most every WRITE_SECONDS by a thread of the
    process (and before a scrape it serves, and at exit), so a scrape of the master may miss
    the last WRITE_SECONDS of requests, never more. Elsewhere each request is written at once.
    """

    def __init__(self, deferred: bool) -> None:
        self.deferred = deferred
        self.series: dict[tuple[str, str], RequestSeries] = {}
        self.pending: set[RequestSeries] = set()
        self.lock = threading.Lock()
        self.writer_pid = 0
        # A fork while the writer held the lock would leave the child's copy locked forever.
        os.register_at_fork(after_in_child=self.forget_parent)

    def forget_parent(self) -> None:
        self.writer_pid = 0  # the parent's writer thread is not the child's
        self.lock = threading.Lock()
        self.pending.clear()  # the parent writes its own
        for series in self.series.values():
            series.clear()

    def record(self, method: str, route: str, status: int, elapsed: float, sql) -> None:
        """Count one answered request (method and route as labelled, its SQL if counted)."""
        if method not in KNOWN_METHODS:
            method = "OTHER"  # any name a client sends would be a series of its own
        with self.lock:
            series = self.series.get((method, route))
            if series is None:
                series = self.series[(method, route)] = RequestSeries(method, route)
            series.record(status, elapsed, sql)
            if not self.deferred:
                series.write()
                return
            self.pending.add(series)
        if not self.writer_pid:  # the first request of this process (or of a fork)
            self.writer_pid = os.getpid()
            threading.Thread(target=self.write_every_while, daemon=True, name="metrics").start()

    def write(self) -> None:
        """Write what awaits writing into the series (the multiprocess files)."""
        with self.lock:
            for series in self.pending:
                series.write()
            self.pending.clear()

    def write_every_while(self) -> None:
        pid = os.getpid()
        while self.writer_pid == pid:
            time.sleep(WRITE_SECONDS)
            self.write()


# Deferred where values are files (PROMETHEUS_MULTIPROC_DIR, set before the client's import).
request_metrics = RequestMetrics(deferred=bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR")))
atexit.register(request_metrics.write)


def forget_request_sql(error: BaseException | None = None) -> None:
    """At teardown: statements from now on are no request's."""
    _request_sql.set(None)


def count_statements() -> None:
    """Add each statement's count and time to the request being served, if any (on every
    engine: a process serves one app, and outside a request a statement costs one lookup)."""
    if event.contains(Engine, "before_cursor_execute", _before_statement):
        return
    event.listen(Engine, "before_cursor_execute", _before_statement)
    event.listen(Engine, "after_cursor_execute", _after_statement)


def _before_statement(connection, cursor, statement, parameters, context, executemany) -> None:
    if _request_sql.get() is not None:
        connection.info["conduit.statement_started"] = time.perf_counter()


def _after_statement(connection, cursor, statement, parameters, context, executemany) -> None:
    sql = _request_sql.get()
    started = connection.info.pop("conduit.statement_started", None)
    if sql is not None and started is not None:
        sql[0] += 1
        sql[1] += time.perf_counter() - started


class TokenMetricsEndpoint:
    """WSGI middleware: `GET /metrics` with `Authorization: Bearer <METRICS_TOKEN>` answers the
    metrics; without it, 401. Outside the Flask app, so it is no route of the API (not under
    /api, not in the OpenAPI document) and no request metric counts it."""

    def __init__(self, wsgi_app, token: str, registry: Callable[[], Collector]) -> None:
        self.wsgi_app = wsgi_app
        self.expected = f"Bearer {token}".encode()
        self.registry = registry

    def __call__(self, wsgi_env, start_response):
        if wsgi_env.get("PATH_INFO") != METRICS_PATH:
            return self.wsgi_app(wsgi_env, start_response)
        given = wsgi_env.get("HTTP_AUTHORIZATION", "").encode("latin-1", "replace")
        if not hmac.compare_digest(given, self.expected):
            return self.refuse(wsgi_env, start_response)
        request_metrics.write()  # this process's requests, up to this one
        body = generate_latest(self.registry())
        start_response(
            "200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))]
        )
        return [body]

    def refuse(self, wsgi_env, start_response):
        body = json.dumps({"errors": {"Authorization": ["is missing or invalid"]}}).encode()
        start_response(
            "401 UNAUTHORIZED",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("WWW-Authenticate", "Bearer"),
            ],
        )
        return [body]


# The Celery worker.


def init_worker_metrics(app: Flask) -> None:
    """In a Celery worker with WORKER_METRICS_BIND set: count tasks, serve the metrics."""
    if not app.config["WORKER_METRICS_BIND"]:
        return
    signals.task_prerun.connect(start_task_timer, weak=False)
    signals.task_postrun.connect(record_task, weak=False)
    signals.worker_init.connect(
        lambda **kwargs: serve_worker_metrics(app), weak=False, dispatch_uid="conduit-metrics"
    )


def serve_worker_metrics(app: Flask) -> None:
    """In the worker's main process, at start: serve its metrics on WORKER_METRICS_BIND."""
    bind = app.config["WORKER_METRICS_BIND"]
    build_info.labels(app.config["RELEASE"]).set(1)
    try:
        serve(bind, scrape_registry(app, os.getpid))
    except OSError as error:
        log.error("worker metrics not served on %s: %s", bind, error)
        return
    log.info("worker metrics served on http://%s/metrics", bind)


def start_task_timer(task=None, **kwargs) -> None:
    """Before a task runs: note when it started."""
    task.request.metrics_started = time.perf_counter()


def record_task(task=None, state: str | None = None, **kwargs) -> None:
    """After a task ran: observe its runtime, count it by final state."""
    started = getattr(task.request, "metrics_started", None)
    if started is not None:
        task_runtime.labels(task.name).observe(time.perf_counter() - started)
    tasks.labels(task.name, (state or "unknown").lower()).inc()


def metric_names(collectors: Iterable[Collector]) -> set[str]:
    """The sample names the collectors' families expose (e.g. http_requests_total)."""
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "summary": ("", "_count", "_sum", "_created"),
        "info": ("_info",),
    }
    names = set()
    for collector in collectors:
        for family in collector.collect():
            for suffix in suffixes.get(family.type, ("",)):
                names.add(family.name + suffix)
    return names
