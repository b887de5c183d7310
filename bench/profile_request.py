#!/usr/bin/env python
"""CPU per request of the hot reads, in-process: each endpoint called N times through the
production app's WSGI callable (no test client, no server), timed with process time, which the
machine's other load disturbs far less than req/s; beside a bare Flask app answering a constant
JSON document (bench/ceiling_app.py, the ceiling of bench/api.py), with metrics off and on.

Uses the database bench/api.py seeds (--seed seeds it first) and a Redis for the read cache.

    .venv/bin/python bench/profile_request.py [--database-url URL] [--requests 3000]
        [--only NAME] [--profile NAME]   # NAME: an endpoint's name; --profile runs cProfile

Under valgrind, --callgrind counts the instructions each request runs instead (independent of
the machine's load; the kernel's share of socket calls is not counted):

    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/cg.%p \\
        .venv/bin/python bench/profile_request.py --callgrind /tmp/cg --requests 200
"""

import argparse
import cProfile
import io
import itertools
import os
import pstats
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
# As gunicorn.conf.py does with metrics on: before prometheus-client is first imported.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="conduit-profile-request-")

DEFAULT_DATABASE_URL = "mysql+pymysql://root@127.0.0.1:3306/conduit_bench_api"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/7"


def wsgi_environ(path: str, token: str | None) -> dict:
    """A GET of `path` as gunicorn would hand it to the app."""
    from werkzeug.test import EnvironBuilder

    headers = {"Authorization": f"Token {token}"} if token else {}
    builder = EnvironBuilder(path=path, headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    try:
        return builder.get_environ()
    finally:
        builder.close()


def call(app, environ: dict) -> int:
    """One request through `app`'s WSGI callable; its status code."""
    status = []

    def start_response(line, headers, exc_info=None):
        status.append(line)

    body = app(dict(environ, **{"wsgi.input": io.BytesIO()}), start_response)
    try:
        for _ in body:
            pass
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return int(status[0].split()[0])


def cpu_us_per_request(app, environs: Iterator[dict], count: int) -> float:
    """Microseconds of this process's CPU per request, over the next `count` of `environs`."""
    started = time.process_time()
    for _ in range(count):
        environ = next(environs)
        code = call(app, environ)
        if code != 200:
            raise SystemExit(f"profile: {environ['PATH_INFO']} answered {code}")
    return (time.process_time() - started) * 1e6 / count


class InstructionCounter:
    """Instructions per request from callgrind (the process runs under valgrind with
    --instr-atstart=no): counting is switched on around the requests, then dumped."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix  # valgrind's --callgrind-out-file, up to ".%p"
        self.pid = str(os.getpid())
        self.dumps = 0

    def control(self, *arguments: str) -> None:
        subprocess.run(["callgrind_control", *arguments, self.pid], check=True, capture_output=True)

    def per_request(self, app, environs: Iterator[dict], count: int) -> float:
        """Thousands of instructions per request, over the next `count` of `environs`."""
        self.control("-i", "on")
        for _ in range(count):
            call(app, next(environs))
        self.control("-d")
        self.control("-i", "off")
        self.dumps += 1
        return self.totals(self.dumps) / count / 1000

    def totals(self, dump: int) -> int:
        path = Path(f"{self.prefix}.{self.pid}.{dump}")
        for line in path.read_text().splitlines():
            if line.startswith("totals:"):
                return int(line.split()[1])
        raise SystemExit(f"profile: no totals in {path}")


def endpoints(facts, count: int) -> dict[str, tuple[list[str], bool]]:
    """Each measured read: its paths (several: misses the cache cannot hold) and whether it
    carries the viewer's token."""
    rng = random.Random(20261203)
    offsets = [
        f"/api/articles?limit=20&offset={rng.randrange(facts.articles - 20)}" for _ in range(count)
    ]
    slugs = [
        f"/api/articles/article-number-{rng.randrange(1, facts.articles + 1)}" for _ in range(count)
    ]
    tag_pages = [  # as bench/api.py's tag filter misses
        f"/api/articles?tag=tag{rng.randrange(facts.tags):02d}&offset={20 * rng.randrange(30)}"
        for _ in range(count)
    ]
    return {
        "list hit": (["/api/articles?limit=20"], False),
        "list miss": (offsets, False),
        "list token": (["/api/articles?limit=20"], True),
        "tag miss": (tag_pages, False),
        "feed": (["/api/articles/feed"], True),
        "single hit": ([f"/api/articles/{facts.slug}"], False),
        "single miss": (slugs, False),
        "tags hit": (["/api/tags"], False),
        "profile hit": (["/api/profiles/user2"], False),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--requests", type=int, default=3000, help="requests per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per endpoint")
    parser.add_argument("--seed", action="store_true", help="seed the database first")
    parser.add_argument("--only", help="measure only the endpoints whose name contains this")
    parser.add_argument("--profile", help="cProfile this endpoint (metrics off) and print it")
    parser.add_argument(
        "--callgrind",
        metavar="PREFIX",
        help="count instructions (under valgrind; PREFIX: its --callgrind-out-file up to .%%p)",
    )
    arguments = parser.parse_args()

    from bench.ceiling_app import create_app as create_ceiling
    from bench.seed import production_app, seed_database

    os.environ["READ_CACHE_REDIS_URL"] = arguments.redis_url
    os.environ["LOG_LEVEL"] = "WARNING"
    secret_key = secrets.token_urlsafe(48)
    facts = seed_database(
        arguments.database_url, secret_key, users=1000, articles=10_000, reseed=arguments.seed
    )
    os.environ.pop("METRICS_TOKEN", None)
    apps = {"off": production_app(arguments.database_url, secret_key)}
    os.environ["METRICS_TOKEN"] = secrets.token_urlsafe(32)
    apps["on"] = production_app(arguments.database_url, secret_key)
    os.environ.pop("METRICS_TOKEN")
    ceiling = create_ceiling()

    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    count = arguments.requests
    measure, unit = cpu_us_per_request, "µs"
    if arguments.callgrind:
        measure, unit = InstructionCounter(arguments.callgrind).per_request, "k instr"
        # Under valgrind a request takes ~50 times as long: keep cached answers as many
        # requests as they would live at full speed.
        for app in apps.values():
            app.extensions["read_cache"].max_age *= 50
    warm = min(200, count)
    ceiling_environ = itertools.cycle([wsgi_environ("/", None)])
    measure(ceiling, ceiling_environ, warm)
    ceiling_cost = statistics.median(
        measure(ceiling, ceiling_environ, count) for _ in range(arguments.rounds)
    )
    print(f"{'bare Flask ceiling':<20} {ceiling_cost:8.0f} {unit} per request")
    measured = endpoints(facts, 3000)
    if arguments.profile:
        paths, authenticated = measured[arguments.profile]
        environs = cycle_environs(paths, facts.viewer_token if authenticated else None)
        cpu_us_per_request(apps["off"], environs, warm)
        profiler = cProfile.Profile(time.process_time)  # CPU, not time spent waiting
        profiler.enable()
        cpu_us_per_request(apps["off"], environs, count)
        profiler.disable()
        stats = pstats.Stats(profiler).sort_stats("cumulative")
        stats.print_stats(60)
        stats.sort_stats("tottime").print_stats(40)
        return
    print(f"{unit} per request, medians of {arguments.rounds} runs of {count} requests")
    print(f"{'endpoint':<20} {'off':>8} {'on':>8} {'metrics':>8} {'ceiling/off':>11}")
    for name, (paths, authenticated) in measured.items():
        if arguments.only and arguments.only not in name:
            continue
        environs = cycle_environs(paths, facts.viewer_token if authenticated else None)
        for app in apps.values():
            measure(app, environs, warm)  # warm: connections, the read cache
        off, on = [], []
        for _ in range(arguments.rounds):
            off.append(measure(apps["off"], environs, count))
            on.append(measure(apps["on"], environs, count))
        off_cost, on_cost = statistics.median(off), statistics.median(on)
        print(
            f"{name:<20} {off_cost:8.0f} {on_cost:8.0f} {on_cost / off_cost - 1:+8.1%}"
            f" {ceiling_cost / off_cost:11.1%}",
            flush=True,
        )


def cycle_environs(paths: list[str], token: str | None) -> Iterator[dict]:
    """The requests of `paths`, in turn, forever."""
    return itertools.cycle([wsgi_environ(path, token) for path in paths])


if __name__ == "__main__":
    main()
