#!/usr/bin/env python
"""Benchmark of the read API under gunicorn, against a constant-JSON Flask app (the ceiling).

Seeds its own MariaDB database (schema from `manage.py db upgrade`, rows by bulk Core inserts),
starts Conduit (with its read cache on a Redis counter) and bench/ceiling_app.py with the
project's gunicorn.conf.py (production config, 2 workers, access log to /dev/null) on free
loopback ports, checks `articlesCount` once against the seeded counts, runs wrk (16 connections,
a warm-up, then a bounded run) against each endpoint: anonymous and with a token, cache hits
(the same page again) and misses (random offsets, tags and slugs, which the cache cannot hold),
and prints req/s, p99 latency, the fraction of the ceiling's req/s, and the CPU per request of
the app's workers, MariaDB and Redis (their CPU during the run, less what they spent in the
ceiling runs around it: the machine is shared). Stops every process it started, whatever
happens (finally + signal handlers).

The uncached list is also measured on bench/floor_app.py ("list page floor"): a bare Flask app
answering the same pages with the same statement, driver and JSON, and nothing else; it shows
how much of the gap to the ceiling is Conduit's own work and how much any Flask app's.

    .venv/bin/python bench/api.py [--database-url URL] [--duration 10] [--connections 16]

With --metrics it also starts Conduit with metrics on (METRICS_BIND, gunicorn's multiprocess
files) and measures each endpoint off, on, off again: the cost is on / mean(off).
"""

import argparse
import contextlib
import json
import os
import random
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
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
CONDUIT_APP = "app:create_app()"
CEILING_APP = "bench.ceiling_app:create_app()"
FLOOR_APP = "bench.floor_app:create_app()"
TARGET_P99_MS = 30.0
STARTUP_SECONDS = 60
RANDOM_PATHS = 3000  # per endpoint of misses: wrk picks one at random for each request
CACHE_SAMPLE = 40  # requests per endpoint that show the read cache's X-Cache header
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str  # the path; with `paths`, the first of them
    authenticated: bool
    cache: str = ""  # "hit": the same answer again; "miss": random paths the cache cannot hold
    paths: tuple[str, ...] = ()
    target: float | None = None  # fraction of the ceiling to reach
    server: str = "conduit"  # or "floor": bench/floor_app.py

    @property
    def label(self) -> str:
        who = "token" if self.authenticated else "anonymous"
        return f"{self.name} ({who}{', ' + self.cache if self.cache else ''})"


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: str
    seconds: float = 0.0
    cpu: dict | None = None  # CPU seconds during the run: "app", "mariadb", "redis"


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


def run_wrk(url: str, token: str | None, seconds: int, connections: int, threads: int, script=None):
    """Run wrk against `url` for `seconds` (a Lua `script` may choose each request's path);
    parse req/s, p50, p99 and errors."""
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
    if script:
        command += ["-s", str(script)]
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
        seconds=seconds,
    )


def random_paths_script(paths: tuple[str, ...], folder: Path) -> Path:
    """A wrk Lua script that sends each request to one of `paths`, chosen at random."""
    script = folder / f"paths-{abs(hash(paths))}.lua"
    listed = ",\n".join(json.dumps(path) for path in paths)
    script.write_text(
        "local paths = {\n" + listed + "\n}\n"
        "function init(args) math.randomseed(os.time() + math.floor(os.clock() * 1e6)) end\n"
        "function request() return wrk.format(nil, paths[math.random(#paths)]) end\n"
    )
    return script


def process_cpu_seconds(pids) -> float:
    """The CPU time (user + system) the processes `pids` have used so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it exited
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def pids_named(name: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


class CpuMeter:
    """CPU seconds of the server's workers, MariaDB and Redis across one wrk run."""

    def __init__(self) -> None:
        self.mariadb = pids_named("mariadbd")
        self.redis = pids_named("redis-server")

    def snapshot(self, master) -> dict:
        return {
            "app": process_cpu_seconds(children_of(master.pid)),
            "mariadb": process_cpu_seconds(self.mariadb),
            "redis": process_cpu_seconds(self.redis),
        }


def measure(
    endpoint_name, url, token, arguments, master=None, meter=None, script=None
) -> WrkResult:
    print(
        f"  {endpoint_name}: warm-up {arguments.warmup} s, run {arguments.duration} s", flush=True
    )
    run_wrk(url, token, arguments.warmup, arguments.connections, arguments.threads, script)
    if meter is None:
        return run_wrk(url, token, arguments.duration, arguments.connections, arguments.threads)
    before = meter.snapshot(master)
    result = run_wrk(
        url, token, arguments.duration, arguments.connections, arguments.threads, script
    )
    after = meter.snapshot(master)
    result.cpu = {part: after[part] - before[part] for part in before}
    return result


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
        "--redis-url",
        default=DEFAULT_REDIS_URL,
        help="the read cache's Redis (READ_CACHE_REDIS_URL); empty: no read cache",
    )
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


def bench_endpoints(facts) -> list[Endpoint]:
    """Each read anonymous and with a token; anonymous hits (the same answer again) and misses
    (random pages, tags and slugs: more answers than the cache holds, so it cannot help)."""
    rng = random.Random(20261203)
    offsets = tuple(
        f"/api/articles?limit=20&offset={rng.randrange(facts.articles - 20)}"
        for _ in range(RANDOM_PATHS)
    )
    tag_pages = tuple(
        f"/api/articles?tag=tag{rng.randrange(facts.tags):02d}&offset={20 * rng.randrange(30)}"
        for _ in range(RANDOM_PATHS)
    )
    slugs = tuple(
        f"/api/articles/article-number-{rng.randrange(1, facts.articles + 1)}"
        for _ in range(RANDOM_PATHS)
    )
    page, one, profile = (
        "/api/articles?limit=20",
        f"/api/articles/{facts.slug}",
        "/api/profiles/user2",
    )
    tagged = f"/api/articles?tag={facts.tag}"
    return [
        Endpoint("list page", page, False, "hit", target=0.70),
        Endpoint("list page", offsets[0], False, "miss", offsets, target=0.30),
        Endpoint("list page floor", offsets[0], False, "miss", offsets, server="floor"),
        Endpoint("list page", page, True, target=0.20),
        Endpoint("tag filter", tag_pages[0], False, "miss", tag_pages),
        Endpoint(f"tag filter {facts.tag}", tagged, True),
        Endpoint("feed", "/api/articles/feed", True),
        Endpoint("single article", one, False, "hit", target=0.70),
        Endpoint("single article", slugs[0], False, "miss", slugs, target=0.35),
        Endpoint("single article", one, True),
        Endpoint("tags", "/api/tags", False, "hit", target=0.70),
        Endpoint("profile", profile, False, "hit"),
        Endpoint("profile", profile, True),
    ]


def cache_answers(base_url: str, endpoint: Endpoint) -> str:
    """What the read cache answered for CACHE_SAMPLE requests of `endpoint` (X-Cache)."""
    seen: dict[str, int] = {}
    rng = random.Random(7)
    for _ in range(CACHE_SAMPLE):
        path = rng.choice(endpoint.paths) if endpoint.paths else endpoint.path
        with urllib.request.urlopen(base_url + path, timeout=30) as response:
            answer = response.headers.get("X-Cache", "none")
        seen[answer] = seen.get(answer, 0) + 1
    return ", ".join(f"{count * 100 // CACHE_SAMPLE}% {answer}" for answer, count in seen.items())


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
    if arguments.redis_url:
        os.environ["READ_CACHE_REDIS_URL"] = arguments.redis_url
        print(f"read cache: on, counter in {arguments.redis_url}", flush=True)
    else:
        os.environ.pop("READ_CACHE_REDIS_URL", None)
        print("read cache: off", flush=True)

    conduit_process, conduit = start_gunicorn(
        processes,
        "conduit",
        server_environment(arguments.database_url, secret_key, CONDUIT_APP, free_port()),
        log_folder,
    )
    ceiling_process, ceiling = start_gunicorn(
        processes,
        "ceiling",
        server_environment(arguments.database_url, secret_key, CEILING_APP, free_port()),
        log_folder,
    )
    check_counts(conduit, facts)
    servers = {"conduit": (conduit_process, conduit)}
    conduit_metrics = None
    if arguments.metrics:
        environment = server_environment(
            arguments.database_url, secret_key, CONDUIT_APP, free_port()
        )
        environment["METRICS_BIND"] = f"127.0.0.1:{free_port()}"
        environment["PROMETHEUS_MULTIPROC_DIR"] = str(log_folder / "metrics")
        _, conduit_metrics = start_gunicorn(processes, "conduit-metrics", environment, log_folder)

    endpoints = bench_endpoints(facts)
    if arguments.only:
        endpoints = [endpoint for endpoint in endpoints if arguments.only in endpoint.label]
    if not endpoints:
        raise SystemExit(f"bench: no endpoint name contains {arguments.only!r}")
    if any(endpoint.server == "floor" for endpoint in endpoints):
        servers["floor"] = start_gunicorn(
            processes,
            "floor",
            server_environment(arguments.database_url, secret_key, FLOOR_APP, free_port()),
            log_folder,
        )
        check_floor(conduit, servers["floor"][1])
    token_header = {"Authorization": f"Token {facts.viewer_token}"}
    statements = count_statements(
        production_app(arguments.database_url, secret_key),
        {
            endpoint.label: (endpoint.path, token_header if endpoint.authenticated else {})
            for endpoint in endpoints
            if endpoint.server == "conduit"
        },
    )
    scripts = {
        endpoint.label: random_paths_script(endpoint.paths, log_folder)
        for endpoint in endpoints
        if endpoint.paths
    }
    print(
        f"wrk: {arguments.connections} connections, {arguments.threads} threads, loopback",
        flush=True,
    )
    meter = CpuMeter()
    # The ceiling is measured before each endpoint and after the last: each endpoint is compared
    # with the mean of the two ceiling runs around it, which follows the machine's load.
    rounds = []
    costs: list[dict[str, float]] = []
    for number in range(1, arguments.rounds + 1):
        if arguments.rounds > 1:
            print(f"round {number} of {arguments.rounds}", flush=True)
        ceilings = [measure("ceiling", ceiling + "/", None, arguments, ceiling_process, meter)]
        results = {}
        for endpoint in endpoints:
            token = facts.viewer_token if endpoint.authenticated else None
            server_process, base_url = servers[endpoint.server]
            results[endpoint.label] = measure(
                endpoint.label,
                base_url + endpoint.path,
                token,
                arguments,
                server_process,
                meter,
                scripts.get(endpoint.label),
            )
            ceilings.append(
                measure("ceiling", ceiling + "/", None, arguments, ceiling_process, meter)
            )
        rounds.append(print_table(endpoints, results, statements, ceilings))
        if conduit_metrics is not None:
            costs.append(metrics_cost(endpoints, conduit, conduit_metrics, facts, arguments))
    if arguments.redis_url:
        print("\nread cache answers (X-Cache of a sample of each anonymous endpoint's requests):")
        for endpoint in endpoints:
            if endpoint.cache and endpoint.server == "conduit":
                print(f"  {endpoint.label:<40} {cache_answers(conduit, endpoint)}")
    if arguments.rounds > 1:
        print_medians(endpoints, rounds)
    if len(costs) > 1:
        print(f"\nmetrics on / off, median of {len(costs)} rounds:")
        for endpoint in endpoints:
            print(
                f"{endpoint.label:<42} "
                f"{statistics.median(cost[endpoint.label] for cost in costs):.1%}"
            )
    print(f"load average after: {load_average()}", flush=True)

    if arguments.profile:
        slowest = min(endpoints, key=lambda endpoint: rounds[-1][endpoint.label][0])
        for endpoint in dict.fromkeys([slowest, endpoints[0]]):
            token = facts.viewer_token if endpoint.authenticated else None
            profile(endpoint, conduit + endpoint.path, token, conduit_process, arguments)
            print(f"its {len(statements[endpoint.label].statements)} SQL statements:")
            for statement in statements[endpoint.label].statements:
                print(f"  {statement}")


def metrics_cost(endpoints, conduit, conduit_metrics, facts, arguments) -> dict[str, float]:
    """Each endpoint's req/s with metrics on over its mean with them off, measured just before
    and just after (the load of a shared machine drifts)."""
    print("\nmetrics on / off:", flush=True)
    ratios = {}
    for endpoint in endpoints:
        token = facts.viewer_token if endpoint.authenticated else None
        before = measure(
            endpoint.label + " (metrics off)", conduit + endpoint.path, token, arguments
        )
        on = measure(
            endpoint.label + " (metrics on)", conduit_metrics + endpoint.path, token, arguments
        )
        after = measure(
            endpoint.label + " (metrics off)", conduit + endpoint.path, token, arguments
        )
        off = (before.requests_per_second + after.requests_per_second) / 2
        ratios[endpoint.label] = on.requests_per_second / off
        offs = f"{before.requests_per_second:.0f}, {after.requests_per_second:.0f}"
        print(
            f"{endpoint.label:<42} off {offs}"
            f" req/s; on {on.requests_per_second:.0f} req/s: {ratios[endpoint.label]:.1%}"
            f" (p99 off {after.p99_ms:.1f} ms, on {on.p99_ms:.1f} ms)",
            flush=True,
        )
    return ratios


def profile(endpoint, url, token, master, arguments) -> None:
    """Sample the conduit workers with py-spy while wrk loads `url`; print where time goes."""
    from bench.profiling import record_profile, summarize_profile

    folded = Path(os.environ.get("TMPDIR", "/tmp")) / "conduit_bench_api" / "profile.folded"
    folded.unlink(missing_ok=True)
    print(f"\nprofile of {endpoint.label}: py-spy samples the gunicorn workers", flush=True)
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


def check_floor(conduit: str, floor: str) -> None:
    """The floor app answers a deep page with the same articles as Conduit."""
    path = "/api/articles?limit=20&offset=4321"
    if get_json(floor + path)["articles"] != get_json(conduit + path)["articles"]:
        raise SystemExit(f"bench: the floor app's {path} differs from Conduit's")
    print(f"  the floor app's {path} is Conduit's", flush=True)


def per_request_ms(result: WrkResult, part: str, background: float) -> float:
    """Milliseconds of `part`'s CPU per request, less `background` CPU seconds per second."""
    if not result.requests:
        return 0.0
    spent = max(result.cpu[part] - background * result.seconds, 0.0)
    return 1000 * spent / result.requests


def print_table(endpoints, results, statements, ceilings) -> dict:
    """One line per endpoint; 'of ceiling' divides by the ceiling runs just before and after.
    MariaDB's and Redis's CPU per request leave out what they spent during those ceiling runs
    (others' work: the ceiling uses neither)."""
    print()
    header = (
        f"{'endpoint':<40} {'req/s':>6} {'p99 ms':>6} {'ceiling':>7} {'of ceil':>7}"
        f" {'target':>6} {'app ms':>6} {'db ms':>6} {'redis':>6} {'SQL':>3} {'alone':>6}"
    )
    print(header)
    print("-" * len(header))
    measured = {}
    for number, endpoint in enumerate(endpoints):
        result = results[endpoint.label]
        before, after = ceilings[number], ceilings[number + 1]
        around = (before.requests_per_second + after.requests_per_second) / 2
        fraction = result.requests_per_second / around
        background = {
            part: (before.cpu[part] + after.cpu[part]) / (before.seconds + after.seconds)
            for part in ("mariadb", "redis")
        }
        cpu = {
            "app": per_request_ms(result, "app", 0.0),
            "mariadb": per_request_ms(result, "mariadb", background["mariadb"]),
            "redis": per_request_ms(result, "redis", background["redis"]),
        }
        measured[endpoint.label] = (fraction, result.p99_ms, cpu)
        sent = statements.get(endpoint.label)
        alone = (
            f" {len(sent.statements):>3} {sent.median_ms:>6.2f}" if sent else f" {'-':>3} {'-':>6}"
        )
        target = f"{endpoint.target:.0%}" if endpoint.target else ""
        print(
            f"{endpoint.label:<40} {result.requests_per_second:>6.0f} {result.p99_ms:>6.1f}"
            f" {around:>7.0f} {fraction:>7.1%} {target:>6} {cpu['app']:>6.2f}"
            f" {cpu['mariadb']:>6.2f} {cpu['redis']:>6.3f}"
            + alone
            + (f"  {result.errors}" if result.errors else "")
        )
    runs = ", ".join(f"{run.requests_per_second:.0f}" for run in ceilings)
    p99s = ", ".join(f"{run.p99_ms:.1f}" for run in ceilings)
    ceiling_cpu = statistics.median(per_request_ms(run, "app", 0.0) for run in ceilings)
    print(
        f"ceiling runs (constant JSON, same gunicorn settings): {runs} req/s; p99 {p99s} ms;"
        f" app CPU {ceiling_cpu:.2f} ms/request"
    )
    print(
        "app/db/redis ms: CPU per request of the app's workers, MariaDB, Redis; SQL: statements"
        " one request sends; alone: its median ms one at a time, in-process (test client,"
        " production app, same database; anonymous hot pages come from the read cache)"
    )
    return measured


def print_medians(endpoints, rounds: list[dict]) -> None:
    """Each endpoint's fraction of the ceiling and p99, round by round, their medians, and
    whether the medians meet the targets (fraction, and p99 under TARGET_P99_MS)."""
    print(f"\nover {len(rounds)} rounds: fraction of the ceiling (p99 ms), then the medians")
    for endpoint in endpoints:
        fractions = [measured[endpoint.label][0] for measured in rounds]
        p99s = [measured[endpoint.label][1] for measured in rounds]
        app = statistics.median(measured[endpoint.label][2]["app"] for measured in rounds)
        database = statistics.median(measured[endpoint.label][2]["mariadb"] for measured in rounds)
        fraction, p99 = statistics.median(fractions), statistics.median(p99s)
        each = "  ".join(f"{f:6.1%} ({p:4.0f})" for f, p in zip(fractions, p99s, strict=True))
        verdict = ""
        if endpoint.target:
            met = fraction >= endpoint.target and p99 < TARGET_P99_MS
            verdict = f"  target {endpoint.target:.0%}: {'met' if met else 'NOT met'}"
        elif p99 >= TARGET_P99_MS:
            verdict = f"  p99 over {TARGET_P99_MS:g} ms"
        print(
            f"{endpoint.label:<40} {each}   median {fraction:.1%} ({p99:.0f} ms),"
            f" CPU app {app:.2f} + db {database:.2f} ms{verdict}"
        )


if __name__ == "__main__":
    main()
