#!/usr/bin/env python
"""Benchmark of the read API under gunicorn, against a constant-JSON Flask app (the ceiling).

Seeds its own MariaDB database (schema from `manage.py db upgrade`, rows by bulk Core inserts),
starts Conduit and bench/ceiling_app.py with the project's gunicorn.conf.py (production config,
2 workers, access log to /dev/null) on free loopback ports, checks `articlesCount` once against
the seeded counts, runs wrk (16 connections, a warm-up, then a bounded run) against each
endpoint, prints req/s, p99 latency and the fraction of the ceiling's req/s, and stops every
process it started, whatever happens (finally + signal handlers).

    .venv/bin/python bench/api.py [--database-url URL] [--duration 10] [--connections 16]

With --metrics it also starts Conduit with metrics on (METRICS_BIND, gunicorn's multiprocess
files) and measures each endpoint off, on, off again: the cost is on / mean(off).
"""

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from tests.polling import free_port  # noqa: E402

DEFAULT_DATABASE_URL = "mysql+pymysql://root@127.0.0.1:3306/conduit_bench_api"
CONDUIT_APP = "app:create_app()"
CEILING_APP = "bench.ceiling_app:create_app()"
ARTICLES_LIST = "GET /api/articles?limit=20"  # the endpoint with a target
TARGET_FRACTION = 0.10
TARGET_P99_MS = 100.0
STARTUP_SECONDS = 60


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    authenticated: bool


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: str


class Processes:
    """Servers started by the bench; `stop_all` ends each of them and its workers."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen] = []

    def start(self, command: list[str], environment: dict[str, str], log: Path):
        log_file = log.open("wb")
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the workers stop with it
        )
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in reversed(self.started):
            stop_group(process)
        self.started.clear()


def stop_group(process: subprocess.Popen, grace_seconds: float = 10) -> None:
    """SIGTERM the process group of `process` (a gunicorn master and its workers), then KILL."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace_seconds)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # leftover workers, if any
    process.wait()


def raise_on_signal(signum, frame):
    raise SystemExit(f"bench: stopped by signal {signum}")


def server_environment(database_url: str, secret_key: str, app: str, port: int) -> dict:
    from bench.seed import PRODUCTION_SECRETS

    return {
        **os.environ,
        "CONDUIT_CONFIG": "production",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secret_key,
        # Production refuses a broker of one host; these benchmarks send no task.
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/8"),
        **PRODUCTION_SECRETS,
        "LOG_LEVEL": "WARNING",
        "GUNICORN_APP": app,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_GRACEFUL_TIMEOUT": "5",
    }


def start_gunicorn(processes: Processes, name: str, environment: dict, log_folder: Path):
    """Start gunicorn with the project's gunicorn.conf.py; once it answers, return the master
    process and the base URL."""
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "-c",
        "gunicorn.conf.py",
        # gunicorn.conf.py logs every request to stdout; the CLI flag overrides it (the lines
        # are still formatted, then discarded, for both servers alike).
        "--access-logfile",
        "/dev/null",
        # Two servers run at once (and others' tests run gunicorn too): no shared control
        # socket, a pid file of its own.
        "--no-control-socket",
        "--pid",
        str(log_folder / f"{name}.pid"),
    ]
    process = processes.start(command, environment, log_folder / f"{name}.log")
    base_url = "http://" + environment["GUNICORN_BIND"]
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = (log_folder / f"{name}.log").read_text(errors="replace")[-3000:]
            raise SystemExit(f"bench: {name} exited with {process.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=2):
                return process, base_url
        except urllib.error.HTTPError:
            return process, base_url  # it answers, if not with a 200
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"bench: {name} did not answer within {STARTUP_SECONDS} s")


def get_json(url: str, token: str | None = None) -> dict:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        body = error.read()[:500].decode(errors="replace")
        raise SystemExit(f"bench: GET {url} answered {error.code}: {body}") from None


LATENCY_LINE = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(url: str, token: str | None, seconds: int, connections: int, threads: int):
    """Run wrk against `url` for `seconds`; parse req/s, p50, p99 and errors."""
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "--latency",
    ]
    if token:
        command += ["-H", f"Authorization: Token {token}"]
    output = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 30
    ).stdout
    latencies = {
        percentile: float(value) * UNIT_MS[unit]
        for percentile, value, unit in LATENCY_LINE.findall(output)
    }
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    errors = []
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        errors.append(f"{match.group(1)} non-2xx")
    if match := re.search(r"Socket errors: (.*)", output):
        errors.append("socket errors " + match.group(1))
    return WrkResult(
        requests_per_second=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        p50_ms=latencies["50"],
        p99_ms=latencies["99"],
        requests=requests,
        errors="; ".join(errors),
    )


def measure(name, url, token, arguments) -> WrkResult:
    print(f"  {name}: warm-up {arguments.warmup} s, run {arguments.duration} s", flush=True)
    run_wrk(url, token, arguments.warmup, arguments.connections, arguments.threads)
    return run_wrk(url, token, arguments.duration, arguments.connections, arguments.threads)


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds per endpoint")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument(
        "--no-seed", action="store_true", help="reuse the database seeded by an earlier run"
    )
    parser.add_argument("--only", help="measure only the endpoints whose name contains this")
    parser.add_argument(
        "--rounds", type=int, default=1, help="measure every endpoint this many times"
    )
    parser.add_argument(
        "--metrics",
        action="store_true",
        help="also measure each endpoint with metrics on (off, on, off) and print the cost",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="then sample the slowest endpoint (and the articles list) with py-spy",
    )
    arguments = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench: wrk is missing: apt-get install -y wrk")

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, raise_on_signal)
    processes = Processes()
    try:
        run(arguments, processes)
    finally:
        processes.stop_all()


def run(arguments, processes: Processes) -> None:
    from bench.profiling import count_statements
    from bench.seed import production_app, seed_database

    log_folder = Path(os.environ.get("TMPDIR", "/tmp")) / "conduit_bench_api"
    log_folder.mkdir(exist_ok=True)
    secret_key = secrets.token_urlsafe(48)
    print(f"load average before: {load_average()} ({os.cpu_count()} cores)", flush=True)
    facts = seed_database(
        arguments.database_url,
        secret_key,
        users=arguments.users,
        articles=arguments.articles,
        reseed=not arguments.no_seed,
    )
    print(facts.summary(), flush=True)

    conduit_process, conduit = start_gunicorn(
        processes,
        "conduit",
        server_environment(arguments.database_url, secret_key, CONDUIT_APP, free_port()),
        log_folder,
    )
    _, ceiling = start_gunicorn(
        processes,
        "ceiling",
        server_environment(arguments.database_url, secret_key, CEILING_APP, free_port()),
        log_folder,
    )
    check_counts(conduit, facts)
    conduit_metrics = None
    if arguments.metrics:
        environment = server_environment(
            arguments.database_url, secret_key, CONDUIT_APP, free_port()
        )
        environment["METRICS_BIND"] = f"127.0.0.1:{free_port()}"
        environment["PROMETHEUS_MULTIPROC_DIR"] = str(log_folder / "metrics")
        _, conduit_metrics = start_gunicorn(processes, "conduit-metrics", environment, log_folder)

    endpoints = [
        Endpoint(ARTICLES_LIST, "/api/articles?limit=20", True),
        Endpoint(f"GET /api/articles?tag={facts.tag}", f"/api/articles?tag={facts.tag}", True),
        Endpoint("GET /api/articles/feed", "/api/articles/feed", True),
        Endpoint("GET /api/articles/{slug}", f"/api/articles/{facts.slug}", True),
        Endpoint("GET /api/tags", "/api/tags", False),
    ]
    if arguments.only:
        endpoints = [endpoint for endpoint in endpoints if arguments.only in endpoint.name]
    if not endpoints:
        raise SystemExit(f"bench: no endpoint name contains {arguments.only!r}")
    token_header = {"Authorization": f"Token {facts.viewer_token}"}
    statements = count_statements(
        production_app(arguments.database_url, secret_key),
        {
            endpoint.name: (endpoint.path, token_header if endpoint.authenticated else {})
            for endpoint in endpoints
        },
    )
    print(
        f"wrk: {arguments.connections} connections, {arguments.threads} threads, loopback",
        flush=True,
    )
    # The ceiling is measured before each endpoint and after the last: each endpoint is compared
    # with the mean of the two ceiling runs around it, which follows the machine's load.
    rounds = []
    costs: list[dict[str, float]] = []
    for number in range(1, arguments.rounds + 1):
        if arguments.rounds > 1:
            print(f"round {number} of {arguments.rounds}", flush=True)
        ceilings = [measure("ceiling", ceiling + "/", None, arguments)]
        results = {}
        for endpoint in endpoints:
            token = facts.viewer_token if endpoint.authenticated else None
            url = conduit + endpoint.path
            results[endpoint.name] = measure(endpoint.name, url, token, arguments)
            ceilings.append(measure("ceiling", ceiling + "/", None, arguments))
        rounds.append(print_table(endpoints, results, statements, ceilings))
        if conduit_metrics is not None:
            costs.append(metrics_cost(endpoints, conduit, conduit_metrics, facts, arguments))
    if arguments.rounds > 1:
        print_medians(endpoints, rounds)
    if len(costs) > 1:
        print(f"\nmetrics on / off, median of {len(costs)} rounds:")
        for endpoint in endpoints:
            print(
                f"{endpoint.name:<42} "
                f"{statistics.median(cost[endpoint.name] for cost in costs):.1%}"
            )
    print(f"load average after: {load_average()}", flush=True)

    if arguments.profile:
        slowest = min(endpoints, key=lambda endpoint: rounds[-1][endpoint.name][0])
        for endpoint in dict.fromkeys([slowest, endpoints[0]]):
            token = facts.viewer_token if endpoint.authenticated else None
            profile(endpoint, conduit + endpoint.path, token, conduit_process, arguments)
            print(f"its {len(statements[endpoint.name].statements)} SQL statements:")
            for statement in statements[endpoint.name].statements:
                print(f"  {statement}")


def metrics_cost(endpoints, conduit, conduit_metrics, facts, arguments) -> dict[str, float]:
    """Each endpoint's req/s with metrics on over its mean with them off, measured just before
    and just after (the load of a shared machine drifts)."""
    print("\nmetrics on / off:", flush=True)
    ratios = {}
    for endpoint in endpoints:
        token = facts.viewer_token if endpoint.authenticated else None
        before = measure(
            endpoint.name + " (metrics off)", conduit + endpoint.path, token, arguments
        )
        on = measure(
            endpoint.name + " (metrics on)", conduit_metrics + endpoint.path, token, arguments
        )
        after = measure(endpoint.name + " (metrics off)", conduit + endpoint.path, token, arguments)
        off = (before.requests_per_second + after.requests_per_second) / 2
        ratios[endpoint.name] = on.requests_per_second / off
        offs = f"{before.requests_per_second:.0f}, {after.requests_per_second:.0f}"
        print(
            f"{endpoint.name:<42} off {offs}"
            f" req/s; on {on.requests_per_second:.0f} req/s: {ratios[endpoint.name]:.1%}"
            f" (p99 off {after.p99_ms:.1f} ms, on {on.p99_ms:.1f} ms)",
            flush=True,
        )
    return ratios


def profile(endpoint, url, token, master, arguments) -> None:
    """Sample the conduit workers with py-spy while wrk loads `url`; print where time goes."""
    from bench.profiling import record_profile, summarize_profile

    folded = Path(os.environ.get("TMPDIR", "/tmp")) / "conduit_bench_api" / "profile.folded"
    folded.unlink(missing_ok=True)
    print(f"\nprofile of {endpoint.name}: py-spy samples the gunicorn workers", flush=True)
    spy = record_profile(master.pid, arguments.duration, folded)
    try:
        # wrk runs a second longer than py-spy samples, so every sample is taken under load.
        seconds = arguments.duration + 1
        loaded = run_wrk(url, token, seconds, arguments.connections, arguments.threads)
        spy.wait(30)
    finally:
        stop_group(spy)
    if spy.returncode != 0:
        raise SystemExit(f"bench: py-spy failed: {spy.stderr.read().decode()[-2000:]}")
    print(f"(under py-spy: {loaded.requests_per_second:.0f} req/s)")
    print(summarize_profile(folded))


def check_counts(base_url: str, facts) -> None:
    """articlesCount, read once through the API, equals what was seeded (exact, not cached)."""
    checks = [
        ("/api/articles?limit=20", facts.articles),
        (f"/api/articles?tag={facts.tag}", facts.tag_articles),
        ("/api/articles/feed", facts.feed_articles),
    ]
    for path, expected in checks:
        document = get_json(base_url + path, facts.viewer_token)
        counted = document["articlesCount"]
        if counted != expected or len(document["articles"]) != min(20, expected):
            raise SystemExit(
                f"bench: {path} says articlesCount={counted} with {len(document['articles'])}"
                f" articles; seeded {expected}"
            )
        print(f"  articlesCount of {path} = {counted}: matches the seeded rows", flush=True)


def print_table(endpoints, results, statements, ceilings) -> None:
    """One line per endpoint; 'of ceiling' divides by the ceiling runs just before and after."""
    print()
    header = (
        f"{'endpoint':<42} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'ceiling':>7}"
        f" {'of ceiling':>10} {'SQL':>4} {'ms alone':>8}"
    )
    print(header)
    print("-" * len(header))
    fractions = {}
    for number, endpoint in enumerate(endpoints):
        result = results[endpoint.name]
        before, after = ceilings[number], ceilings[number + 1]
        around = (before.requests_per_second + after.requests_per_second) / 2
        fractions[endpoint.name] = result.requests_per_second / around
        sent = statements[endpoint.name]
        label = endpoint.name + (" (token)" if endpoint.authenticated else "")
        print(
            f"{label:<42} {result.requests_per_second:>7.0f} {result.p50_ms:>7.1f}"
            f" {result.p99_ms:>7.1f} {around:>7.0f} {fractions[endpoint.name]:>10.1%}"
            f" {len(sent.statements):>4} {sent.median_ms:>8.2f}"
            + (f"  {result.errors}" if result.errors else "")
        )
    runs = ", ".join(f"{run.requests_per_second:.0f}" for run in ceilings)
    p99s = ", ".join(f"{run.p99_ms:.1f}" for run in ceilings)
    print(f"ceiling runs (constant JSON, same gunicorn settings): {runs} req/s; p99 {p99s} ms")
    print(
        "SQL: statements one request sends; ms alone: median of one request at a time,"
        " in-process (test client, production app, same database)"
    )
    if endpoints[0].name == ARTICLES_LIST:
        print_target(fractions[ARTICLES_LIST], results[ARTICLES_LIST].p99_ms)
    return {name: (fractions[name], results[name].p99_ms) for name in fractions}


def print_target(fraction: float, p99_ms: float, label: str = "") -> None:
    met = fraction >= TARGET_FRACTION and p99_ms < TARGET_P99_MS
    print()
    print(
        f"target GET /api/articles?limit=20 (token) >= {TARGET_FRACTION:.0%} of the ceiling and"
        f" p99 < {TARGET_P99_MS:g} ms{label}: {fraction:.1%}, p99 {p99_ms:.1f} ms:"
        f" {'met' if met else 'NOT met'}"
    )


def print_medians(endpoints, rounds: list[dict]) -> None:
    """Each endpoint's fraction of the ceiling and p99, round by round and their median."""
    print(f"\nover {len(rounds)} rounds: fraction of the ceiling (p99 ms), then the median")
    medians = {}
    for endpoint in endpoints:
        fractions = [measured[endpoint.name][0] for measured in rounds]
        p99s = [measured[endpoint.name][1] for measured in rounds]
        medians[endpoint.name] = (statistics.median(fractions), statistics.median(p99s))
        each = "  ".join(f"{f:6.1%} ({p:5.0f})" for f, p in zip(fractions, p99s, strict=True))
        print(
            f"{endpoint.name:<42} {each}   median {medians[endpoint.name][0]:.1%}"
            f" ({medians[endpoint.name][1]:.0f})"
        )
    if ARTICLES_LIST in medians:
        print_target(*medians[ARTICLES_LIST], label=" (medians)")


if __name__ == "__main__":
    main()
