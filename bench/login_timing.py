#!/usr/bin/env python
"""Login timing: does an unknown email answer faster than a known one with a wrong password?

Starts Conduit under gunicorn (production config and its argon2 cost, 1 worker, rate limits
off so every attempt is answered) on a MariaDB database of its own, registers one user, then
alternates the two kinds of failed login and prints both medians side by side. Equal medians
mean the answer time tells an attacker nothing about which emails have accounts.

    .venv/bin/python bench/login_timing.py [--database-url URL] [--rounds 40]
"""

import argparse
import json
import secrets
import signal
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from tests.polling import free_port  # noqa: E402

DEFAULT_DATABASE_URL = "mysql+pymysql://root@127.0.0.1:3306/conduit_bench_login"
PASSWORD = "a long enough benchmark passphrase"


def post(url: str, payload: dict) -> tuple[int, float]:
    """POST `payload` as JSON; the status and the seconds the answer took."""
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        error.read()
        status = error.code
    return status, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--rounds", type=int, default=40)
    arguments = parser.parse_args()

    from sqlalchemy_utils import create_database, database_exists, drop_database

    from bench.api import Processes, raise_on_signal, server_environment, start_gunicorn
    from bench.seed import manage

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, raise_on_signal)
    secret_key = secrets.token_urlsafe(48)
    if database_exists(arguments.database_url):
        drop_database(arguments.database_url)
    create_database(arguments.database_url, encoding="utf8mb4")
    manage(arguments.database_url, secret_key, "db", "upgrade")
    environment = server_environment(
        arguments.database_url, secret_key, "app:create_app()", free_port()
    )
    environment.update({"GUNICORN_WORKERS": "1", "RATELIMIT_ENABLED": "0"})
    processes = Processes()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-login-") as folder:
            _, base_url = start_gunicorn(processes, "conduit", environment, Path(folder))
            user = {"username": "timing", "email": "timing@example.com", "password": PASSWORD}
            status, _ = post(base_url + "/api/users", {"user": user})
            assert status == 201, f"registration answered {status}"
            login = base_url + "/api/users/login"
            unknown, wrong = [], []
            for number in range(arguments.rounds + 2):
                ghost = {"email": f"nobody{number}@example.com", "password": PASSWORD}
                known = {"email": "timing@example.com", "password": f"wrong {number}"}
                for samples, credentials in ((unknown, ghost), (wrong, known)):
                    status, seconds = post(login, {"user": credentials})
                    assert status == 401, f"a failed login answered {status}"
                    if number >= 2:  # the first rounds warm the worker up
                        samples.append(seconds * 1000)
    finally:
        processes.stop_all()
        drop_database(arguments.database_url)
    unknown_ms, wrong_ms = statistics.median(unknown), statistics.median(wrong)
    print(
        f"login failures, median of {arguments.rounds} each (argon2 t=3, m=64 MiB): "
        f"unknown email {unknown_ms:.1f} ms, known email wrong password {wrong_ms:.1f} ms, "
        f"ratio {unknown_ms / wrong_ms:.2f}"
    )


if __name__ == "__main__":
    main()
