"""Prometheus metrics of the gunicorn processes (gunicorn.conf.py wires these hooks).

Every worker records into files of prometheus-client's multiprocess mode, in
PROMETHEUS_MULTIPROC_DIR, which gunicorn.conf.py sets before anything imports the client. The
master empties that folder when it starts cold (not on a USR2 deploy: the old workers go on
writing there, and their counts must not vanish), marks each exited worker dead (its live
gauges go), and, with METRICS_BIND set, serves the sum over every worker on a listener of its
own: a scrape needs no free worker, and the API's listeners never answer it.

This module is imported by the master, which never imports the app: it needs nothing but
prometheus-client and the standard library.
"""

import glob
import os
import socket
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, CollectorRegistry, ProcessCollector, make_wsgi_app
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
# One gauge per worker, summed over the live ones: how many workers are serving.
WORKERS_ALIVE = "gunicorn_workers_alive"


def metrics_enabled() -> bool:
    """Whether metrics are served at all: on their own listener, or to a bearer of the token."""
    return bool(os.environ.get("METRICS_BIND") or os.environ.get("METRICS_TOKEN"))


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROCESS_DIR) or None


def empty_directory(path: str) -> None:
    """Remove the metric files of an earlier run (a cold start counts from zero)."""
    os.makedirs(path, exist_ok=True)
    for leftover in glob.glob(os.path.join(path, "*.db")):
        os.remove(leftover)


class GunicornProcesses(Collector):
    """process_* metrics (CPU, memory, open files) of the master and each of its workers,
    labelled with the process's role and pid: prometheus-client's process collector reads
    /proc for one process; multiprocess mode cannot sum these, so each process is a series."""

    def __init__(self, master_pid: Callable[[], int]) -> None:
        self.master_pid = master_pid

    def collect(self) -> Iterator[Metric]:
        master = self.master_pid()
        families: dict[str, Metric] = {}
        for role, pid in [("master", master), *(("worker", pid) for pid in children(master))]:
            for family in ProcessCollector(pid=lambda pid=pid: pid, registry=None).collect():
                merged = families.setdefault(
                    family.name, Metric(family.name, family.documentation, family.type)
                )
                for sample in family.samples:
                    labels = {**sample.labels, "process": role, "pid": str(pid)}
                    merged.add_sample(sample.name, labels, sample.value)
        yield from families.values()


def children(pid: int) -> list[int]:
    """The pids of `pid`'s children (Linux: /proc/<pid>/task/<tid>/children)."""
    found: list[int] = []
    for path in glob.glob(f"/proc/{pid}/task/*/children"):
        try:
            found += [int(child) for child in Path(path).read_text().split()]
        except OSError:
            continue  # the thread ended while we looked
    return found


class Combined(Collector):
    """Several collectors read as one registry."""

    def __init__(self, sources: Iterable) -> None:
        self.sources = list(sources)

    def collect(self) -> Iterator[Metric]:
        for source in self.sources:
            yield from source.collect()


def web_registry(master_pid: Callable[[], int], extra: Iterable = ()) -> Collector:
    """What a scrape of the web processes reads: the sum over every worker's files and each
    process's own figures under gunicorn; this process's registry elsewhere (development)."""
    path = multiprocess_dir()
    if path is None:
        return Combined([REGISTRY, *extra])
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=path)
    return Combined([registry, GunicornProcesses(master_pid), *extra])


class MetricsServer(ThreadingMixIn, WSGIServer):
    """The metrics listener. SO_REUSEPORT: during a USR2 deploy the new master binds the same
    address while the old one still holds it, and both answer until the old one exits."""

    daemon_threads = True
    allow_reuse_address = True
    allow_reuse_port = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args) -> None:
        pass  # one line per scrape would drown the master's log


def split_bind(bind: str) -> tuple[str, int]:
    """ "host:port" (or "[v6]:port") as a host and a port."""
    host, _, port = bind.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)


def serve(bind: str, registry: Collector) -> WSGIServer:
    """Serve `registry` in Prometheus text format on `bind`, from a daemon thread."""
    import threading

    host, port = split_bind(bind)

    class Server(MetricsServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    server = make_server(host, port, make_wsgi_app(registry), Server, handler_class=QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server


# gunicorn hooks (gunicorn.conf.py); each does nothing unless metrics are on.


def on_starting(server) -> None:
    """Master, before anything else: a cold start empties the folder; a USR2 keeps it."""
    path = multiprocess_dir()
    if path is None:
        return
    if server.master_pid:
        os.makedirs(path, exist_ok=True)
    else:
        empty_directory(path)


def when_ready(server) -> None:
    """Master, listening: serve the metrics on METRICS_BIND when set."""
    bind = os.environ.get("METRICS_BIND")
    if not bind or multiprocess_dir() is None:
        return
    try:
        serve(bind, web_registry(os.getpid))
    except OSError as error:
        # Metrics are not worth a failed start or deploy.
        server.log.error("Metrics not served on %s: %s", bind, error)
        return
    server.log.info("Metrics served on http://%s/metrics", bind)


def post_worker_init(worker) -> None:
    """Worker, app loaded: count itself among the workers alive."""
    if multiprocess_dir() is None:
        return
    from prometheus_client import Gauge

    Gauge(WORKERS_ALIVE, "gunicorn workers serving", multiprocess_mode="livesum").set(1)


def child_exit(server, worker) -> None:
    """Master, a worker exited (whatever the cause): its live gauges go."""
    path = multiprocess_dir()
    if path is not None:
        mark_process_dead(worker.pid, path)
