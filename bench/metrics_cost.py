#!/usr/bin/env python
"""CPU cost of the request metrics, in-process: the same request through an app with metrics
on (prometheus-client's multiprocess mode, as under gunicorn) and one with them off,
alternating in batches; prints CPU ms per request (process time, which the machine's other
load disturbs far less than req/s) and the ratio.

Uses the database bench/api.py seeds (run it once first, or pass --seed).

    .venv/bin/python bench/metrics_cost.py [--database-url URL] [--requests 200] [--rounds 7]
"""

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
# As gunicorn.conf.py does with metrics on: before prometheus-client is first imported.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="conduit-metrics-cost-")

DEFAULT_DATABASE_URL = "mysql+pymysql://root@127.0.0.1:3306/conduit_bench_api"
PATH = "/api/articles?limit=20"


def cpu_ms_per_request(client, headers, count: int) -> float:
    started = time.process_time()
    for _ in range(count):
        response = client.get(PATH, headers=headers)
        assert response.status_code == 200, response.status_code
    return (time.process_time() - started) * 1000 / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--requests", type=int, default=200, help="requests per batch")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seed", action="store_true", help="seed the database first")
    arguments = parser.parse_args()

    from bench.seed import production_app, seed_database

    secret_key = secrets.token_urlsafe(48)
    facts = seed_database(
        arguments.database_url, secret_key, users=1000, articles=10_000, reseed=arguments.seed
    )
    os.environ.pop("METRICS_TOKEN", None)
    off = production_app(arguments.database_url, secret_key)
    os.environ["METRICS_TOKEN"] = secrets.token_urlsafe(32)
    on = production_app(arguments.database_url, secret_key)
    headers = {"Authorization": f"Token {facts.viewer_token}"}
    clients = {"off": off.test_client(), "on": on.test_client()}
    for client in clients.values():
        cpu_ms_per_request(client, headers, 20)  # warm-up: connections, caches

    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    ratios = []
    for number in range(1, arguments.rounds + 1):
        first = cpu_ms_per_request(clients["off"], headers, arguments.requests)
        with_metrics = cpu_ms_per_request(clients["on"], headers, arguments.requests)
        second = cpu_ms_per_request(clients["off"], headers, arguments.requests)
        ratios.append(with_metrics / ((first + second) / 2))
        print(
            f"round {number}: off {first:.3f}, {second:.3f} ms; on {with_metrics:.3f} ms"
            f" CPU per request: on / off {ratios[-1]:.1%}",
            flush=True,
        )
    print(f"median on / off over {len(ratios)} rounds: {statistics.median(ratios):.1%}")


if __name__ == "__main__":
    main()
