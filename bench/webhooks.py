#!/usr/bin/env python
"""Benchmark of webhook delivery: articles created through the API, one Celery worker, a local
receiver; prints deliveries per second and commit-to-delivery p50/p99.

Creates its own MariaDB database (schema from `manage.py db upgrade`), starts Conduit under
gunicorn (gunicorn.conf.py, 2 workers) and one worker as the Procfile runs it
(`celery -A app.worker worker --pool=threads --concurrency=4`) on Redis (a queue of its own) or,
with --broker rabbitmq, on RabbitMQ (127.0.0.1:5672, a virtual host of its own), and a
receiver on 127.0.0.1 in this process, which checks every signature and counts every webhook-id.
Then three runs:

1. paced: --paced articles at --rate per second (20), one webhook;
2. full speed: --full articles as fast as --clients threads can create them, with --webhooks
   webhooks (one delivery per article and webhook), the worker delivering meanwhile;
3. backlog: the worker stopped, --backlog articles created, the worker started: deliveries/s
   of the worker alone (the sustained rate), its CPU not shared with the API's;
4. hostile receiver: the webhooks above disabled, two new ones: one whose receiver trickles its
   answer a byte a second (held until the attempt's deadline cuts it), one honest; --hostile
   articles at --hostile-rate per second: the honest receiver's p50/p99, and the most requests
   the trickler had in flight at once (1 is the per-webhook limit).

Commit-to-delivery runs from the event's timestamp (taken in the request just before its
commit, so the figure errs high) to the receiver reading the request. Stops every process it
started, drops its database and its Redis queue or RabbitMQ virtual host, whatever happens.

    .venv/bin/python bench/webhooks.py [--database-url URL] [--broker redis|rabbitmq]
        [--broker-url URL] [--paced 200]
        [--rate 20] [--full 400] [--backlog 400] [--webhooks 5] [--clients 4]
        [--pool threads] [--concurrency 4] [--hostile 100] [--hostile-rate 10] [--hostile-only]
"""

import argparse
import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import redis
import requests
from sqlalchemy.engine import make_url
from sqlalchemy_utils import create_database, database_exists, drop_database

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from tests.polling import free_port  # noqa: E402

VENV_BIN = Path(sys.executable).parent
DEFAULT_DATABASE_URL = "mysql+pymysql://root@127.0.0.1:3306/conduit_bench_webhooks"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/5"
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672"
TARGET_P99_MS = 500.0
TARGET_DELIVERIES_PER_SECOND = 100.0
STARTUP_SECONDS = 60


@dataclass(frozen=True)
class Received:
    webhook: str
    message_id: str
    published_at: float
    received_at: float
    signed: bool


class Receiver:
    """Webhook endpoints /hook/<n> on 127.0.0.1: checks signatures, records every request.

    /trickle/<n> answers a byte a second until the sender hangs up, counting the requests it
    has in flight at once."""

    def __init__(self) -> None:
        self.secrets: dict[str, bytes] = {}
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.trickling = 0
        self.most_trickling = 0
        self.trickle_ids: list[str] = []  # the webhook-id of each request, as it arrives
        self.trickled: list[float] = []  # seconds until the sender hung up, per request
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received_at = time.time()
                if self.path.startswith("/trickle/"):
                    receiver.trickle(self, self.headers["webhook-id"])
                    return
                receiver.record(self.path, self.headers, body, received_at)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, webhook: str, kind: str = "hook") -> str:
        return f"http://127.0.0.1:{self.server.server_port}/{kind}/{webhook}"

    def trickle(self, handler: BaseHTTPRequestHandler, message_id: str) -> None:
        """Answer a byte a second (the status line never ends) until the sender hangs up."""
        started = time.monotonic()
        with self.lock:
            self.trickle_ids.append(message_id)
            self.trickling += 1
            self.most_trickling = max(self.most_trickling, self.trickling)
        try:
            for byte in itertools.cycle(b"HTTP/1.1 200 OK"):
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(1)
        except OSError:
            handler.close_connection = True
        finally:
            with self.lock:
                self.trickling -= 1
                self.trickled.append(time.monotonic() - started)

    def record(self, path: str, headers, body: bytes, received_at: float) -> None:
        webhook = path.rsplit("/", 1)[-1]
        message_id = headers["webhook-id"]
        signed_content = f"{message_id}.{headers['webhook-timestamp']}.".encode() + body
        expected = hmac.new(self.secrets[webhook], signed_content, hashlib.sha256).digest()
        signatures = [part.split(",", 1)[1] for part in headers["webhook-signature"].split()]
        signed = any(hmac.compare_digest(base64.b64decode(s), expected) for s in signatures)
        published = datetime.fromisoformat(json.loads(body)["timestamp"]).timestamp()
        with self.lock:
            self.received.append(Received(webhook, message_id, published, received_at, signed))

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def take(self) -> list[Received]:
        with self.lock:
            received, self.received = self.received, []
            return received


class Processes:
    """Processes the bench starts, each in a process group of its own; all stopped at the end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[subprocess.Popen] = []

    def start(self, name: str, command: list[str], environment: dict) -> subprocess.Popen:
        with open(self.folder / f"{name}.log", "wb") as log:
            process = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append(process)
        return process

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for process in reversed(self.started):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(10)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self.started.clear()


def raise_on_signal(signum, frame):
    raise SystemExit(f"bench: stopped by signal {signum}")


def wait_until(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: gave up after {seconds:g} s waiting for {what}")
        time.sleep(0.05)
    return result


def environment(database_url: str, broker_url: str, queue: str, port: int) -> dict:
    """Development config (it allows a receiver on 127.0.0.1), everything else explicit."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("CELERY_", "WEBHOOK_", "GUNICORN_", "SENTRY_", "LOG_"))
    }
    return {
        **inherited,
        "CONDUIT_CONFIG": "development",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_DEFAULT_QUEUE": queue,
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
        # The bench writes as fast as it can: a rate limit would measure itself.
        "RATELIMIT_ENABLED": "0",
        "SENTRY_DSN": "",
        "LOG_LEVEL": "INFO",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_ACCESSLOG": "/dev/null",
        "GUNICORN_GRACEFUL_TIMEOUT": "5",
        "PYTHONPATH": str(PROJECT_ROOT),
    }


def manage(environ: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=environ,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"bench: manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def reset_database(database_url: str) -> None:
    if database_exists(database_url):
        drop_database(database_url)
    create_database(database_url, encoding="utf8mb4")


def start_gunicorn(processes: Processes, environ: dict, pid_folder: Path) -> str:
    """The API under gunicorn (gunicorn.conf.py); its base URL once it answers."""
    gunicorn = processes.start(
        "gunicorn",
        [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--pid", str(pid_folder / "g.pid")],
        {**environ, "LOG_LEVEL": "WARNING"},
    )
    base_url = "http://" + environ["GUNICORN_BIND"]

    def answers() -> bool:
        if gunicorn.poll() is not None:
            raise SystemExit(f"bench: gunicorn exited:\n{processes.log('gunicorn')[-3000:]}")
        with contextlib.suppress(requests.RequestException):
            return requests.get(base_url + "/healthz", timeout=2).ok
        return False

    wait_until(answers, STARTUP_SECONDS, "gunicorn to answer")
    return base_url


class Worker:
    """The one Celery worker, started as the Procfile starts it (pool and concurrency aside)."""

    def __init__(self, processes: Processes, environ: dict, pool: str, concurrency: int) -> None:
        self.processes = processes
        self.environ = environ
        self.command = [
            str(VENV_BIN / "celery"),
            "-A",
            "app.worker",
            "worker",
            "--loglevel=INFO",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            f"--hostname={environ['CELERY_DEFAULT_QUEUE']}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        name = f"worker{self.starts}"
        process = self.process = self.processes.start(name, self.command, self.environ)

        def ready() -> bool:
            if process.poll() is not None:
                raise SystemExit(f"bench: the worker exited:\n{self.processes.log(name)[-3000:]}")
            return " ready." in self.processes.log(name)

        wait_until(ready, STARTUP_SECONDS, "the worker to be ready")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the worker's processes (its pool's too)."""
        if self.process is None:
            return 0.0
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == self.process.pid:  # its process group
                    total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """A warm shutdown: what it has taken it finishes; the rest stays in the queue."""
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(60)
            self.process = None


class Api:
    """Calls to Conduit's API, one requests session per thread."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.local = threading.local()
        self.token = ""

    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def post(self, path: str, payload: dict, headers: dict | None = None) -> dict:
        response = self.session().post(
            self.base_url + path, json=payload, headers=headers or {}, timeout=30
        )
        if response.status_code not in (200, 201):
            raise SystemExit(f"bench: POST {path} answered {response.status_code}: {response.text}")
        return response.json()

    def register_user(self) -> None:
        user = {"username": "benchauthor", "email": "bench@example.com", "password": "bench pw"}
        self.token = self.post("/api/users", {"user": user})["user"]["token"]

    def register_webhook(self, client_key: str, url: str) -> tuple[int, str]:
        webhook = {"url": url, "events": ["article.created"]}
        answer = self.post("/api/webhooks", {"webhook": webhook}, {"X-Client-Key": client_key})
        return answer["webhook"]["id"], answer["webhook"]["secret"]

    def disable_webhooks(self, client_key: str) -> None:
        headers = {"X-Client-Key": client_key}
        webhooks = self.session().get(
            self.base_url + "/api/webhooks?limit=100", headers=headers, timeout=30
        )
        for webhook in webhooks.json()["webhooks"]:
            self.session().patch(
                f"{self.base_url}/api/webhooks/{webhook['id']}",
                json={"webhook": {"enabled": False}},
                headers=headers,
                timeout=30,
            ).raise_for_status()

    def create_article(self, number: int) -> None:
        article = {"title": f"Bench article {number}", "description": "d", "body": "b" * 500}
        self.post("/api/articles", {"article": article}, {"Authorization": f"Token {self.token}"})


def add_webhooks(
    api: Api, receiver: Receiver, client_key: str, names: list[str], kind: str = "hook"
) -> None:
    for name in names:
        _, secret = api.register_webhook(client_key, receiver.url(name, kind))
        receiver.secrets[name] = base64.b64decode(secret.removeprefix("whsec_"))


def hostile_run(
    api: Api, receiver: Receiver, client_keys: tuple[str, str], articles: int, rate: float
) -> None:
    """One client's receiver trickles, another's is honest: the honest one's latency."""
    api.disable_webhooks(client_keys[0])
    add_webhooks(api, receiver, client_keys[0], ["trickler"], kind="trickle")
    add_webhooks(api, receiver, client_keys[1], ["honest"])
    receiver.take()
    seconds = create_articles(api, articles, rate, 1)
    received = wait_for_deliveries(receiver, articles)
    latencies = sorted((r.received_at - r.published_at) * 1000 for r in received)
    p99 = latencies[max(0, round(0.99 * len(latencies)) - 1)]
    with receiver.lock:
        cut, message_ids = list(receiver.trickled), list(receiver.trickle_ids)
        most, still = receiver.most_trickling, receiver.trickling
    print(f"\nhostile receiver: {rate:g} articles/s, a trickling webhook and an honest one")
    print(f"  articles             {articles} in {seconds:.1f} s")
    print(f"  honest deliveries    {len(received)} of {articles} expected")
    print(
        f"  honest receiver      p50 {statistics.median(latencies):.0f} ms, p99 {p99:.0f} ms, "
        f"max {latencies[-1]:.0f} ms"
    )
    print(
        f"  trickler             {len(message_ids)} requests ({still} still trickling at the "
        f"end), {len(set(message_ids))} webhook-ids, at most {most} at once; the finished "
        f"ones cut after {min(cut, default=0):.1f}-{max(cut, default=0):.1f} s"
    )


def create_articles(api: Api, articles: int, rate: float | None, clients: int) -> float:
    """Create `articles` through the API, at `rate` per second or flat out; seconds taken."""
    numbers = iter(range(articles))
    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        if rate:
            futures = []
            for number in numbers:
                time.sleep(max(0.0, started + number / rate - time.monotonic()))
                futures.append(pool.submit(api.create_article, number))
        else:
            lock = threading.Lock()

            def create_until_done() -> None:
                while True:
                    with lock:
                        number = next(numbers, None)
                    if number is None:
                        return
                    api.create_article(number)

            futures = [pool.submit(create_until_done) for _ in range(clients)]
        for future in futures:
            future.result()
    return time.monotonic() - started


def wait_for_deliveries(receiver: Receiver, expected: int) -> list[Received]:
    wait_until(lambda: receiver.count() >= expected, 120 + expected / 20, "the deliveries")
    time.sleep(0.5)  # anything beyond the expected count is a duplicate: give it a chance
    return receiver.take()


def report(
    name: str, created: str, received: list[Received], expected: int, worker_cpu: float
) -> tuple:
    """Print a phase's figures; (p99 ms, deliveries/s from first to last delivery)."""
    latencies = sorted((r.received_at - r.published_at) * 1000 for r in received)
    first_received = min(r.received_at for r in received)
    last_received = max(r.received_at for r in received)
    rate = (len(received) - 1) / max(last_received - first_received, 1e-9)
    duplicates = len(received) - len({(r.webhook, r.message_id) for r in received})
    p99 = latencies[max(0, round(0.99 * len(latencies)) - 1)]
    print(f"\n{name}")
    print(f"  articles             {created}")
    print(
        f"  deliveries           {len(received)} of {expected} expected, {duplicates} duplicates, "
        f"{sum(not r.signed for r in received)} bad signatures"
    )
    print(f"  deliveries/s         {rate:.1f} (first to last delivery)")
    print(
        f"  worker CPU           {worker_cpu * 1000 / len(received):.1f} ms per delivery "
        "(all its processes; the database's and Redis's not counted)"
    )
    print(
        f"  commit-to-delivery   p50 {statistics.median(latencies):.0f} ms, p99 {p99:.0f} ms, "
        f"max {latencies[-1]:.0f} ms"
    )
    return p99, rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--broker", choices=["redis", "rabbitmq"], default="redis")
    parser.add_argument("--broker-url", default=DEFAULT_BROKER_URL, help="the Redis one")
    parser.add_argument("--paced", type=int, default=200, help="articles in the paced run")
    parser.add_argument("--rate", type=float, default=20.0, help="articles/s in the paced run")
    parser.add_argument("--full", type=int, default=400, help="articles in the full-speed run")
    parser.add_argument("--backlog", type=int, default=400, help="articles in the backlog run")
    parser.add_argument("--webhooks", type=int, default=5, help="webhooks after the paced run")
    parser.add_argument("--clients", type=int, default=4, help="API client threads")
    parser.add_argument("--pool", default="threads", help="the worker's pool (Procfile: threads)")
    parser.add_argument("--concurrency", type=int, default=4, help="the worker's (Procfile: 4)")
    parser.add_argument("--hostile", type=int, default=100, help="articles, hostile run")
    parser.add_argument("--hostile-rate", type=float, default=10.0, help="their rate")
    parser.add_argument("--hostile-only", action="store_true", help="only the hostile run")
    arguments = parser.parse_args()

    signal.signal(signal.SIGTERM, raise_on_signal)
    queue = f"bench-webhooks-{uuid.uuid4().hex[:8]}"
    if arguments.broker == "rabbitmq":
        arguments.broker_url = f"{RABBITMQ_URL}/{queue}"
        rabbitmqctl("add_vhost", queue)
        rabbitmqctl("set_permissions", "-p", queue, "guest", ".*", ".*", ".*")
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as folder:
        processes = Processes(Path(folder))
        environ = environment(arguments.database_url, arguments.broker_url, queue, free_port())
        try:
            reset_database(arguments.database_url)
            manage(environ, "db", "upgrade")
            client_key = manage(environ, "create-client", "bench").strip().splitlines()[-1]
            other_key = manage(environ, "create-client", "other").strip().splitlines()[-1]
            keys = (client_key, other_key)
            receiver = Receiver()
            api = Api(start_gunicorn(processes, environ, Path(folder)))
            worker = Worker(processes, environ, arguments.pool, arguments.concurrency)
            worker.start()
            api.register_user()
            print(
                f"bench/webhooks: MariaDB {make_url(arguments.database_url).database}, "
                f"broker {arguments.broker_url}, gunicorn 2 workers, one Celery worker "
                f"(pool {arguments.pool}, concurrency {arguments.concurrency})"
            )

            if arguments.hostile_only:
                hostile_run(api, receiver, keys, arguments.hostile, arguments.hostile_rate)
                return
            add_webhooks(api, receiver, client_key, ["0"])
            cpu = worker.cpu_seconds()
            seconds = create_articles(api, arguments.paced, arguments.rate, arguments.clients)
            received = wait_for_deliveries(receiver, arguments.paced)
            paced_p99, _ = report(
                f"paced: {arguments.rate:g} articles/s, 1 webhook",
                f"{arguments.paced} in {seconds:.1f} s",
                received,
                arguments.paced,
                worker.cpu_seconds() - cpu,
            )

            add_webhooks(api, receiver, client_key, [str(n) for n in range(1, arguments.webhooks)])
            expected = arguments.full * arguments.webhooks
            cpu = worker.cpu_seconds()
            seconds = create_articles(api, arguments.full, None, arguments.clients)
            received = wait_for_deliveries(receiver, expected)
            report(
                f"full speed: {arguments.clients} API clients flat out, {arguments.webhooks} "
                "webhooks, the worker delivering meanwhile",
                f"{arguments.full} in {seconds:.1f} s ({arguments.full / seconds:.1f}/s)",
                received,
                expected,
                worker.cpu_seconds() - cpu,
            )

            worker.stop()
            expected = arguments.backlog * arguments.webhooks
            seconds = create_articles(api, arguments.backlog, None, arguments.clients)
            worker.start()
            cpu = worker.cpu_seconds()  # after start-up, which is not delivery work
            received = wait_for_deliveries(receiver, expected)
            _, backlog_rate = report(
                f"backlog: {expected} deliveries queued while the worker was stopped, then "
                "delivered by it alone (latency includes the wait)",
                f"{arguments.backlog} in {seconds:.1f} s",
                received,
                expected,
                worker.cpu_seconds() - cpu,
            )
            print(
                f"\ntargets: p99 < {TARGET_P99_MS:.0f} ms at {arguments.rate:g}/s: "
                f"{'met' if paced_p99 < TARGET_P99_MS else 'MISSED'}; "
                f">= {TARGET_DELIVERIES_PER_SECOND:.0f} deliveries/s sustained (backlog): "
                f"{'met' if backlog_rate >= TARGET_DELIVERIES_PER_SECOND else 'MISSED'}"
            )
            hostile_run(api, receiver, keys, arguments.hostile, arguments.hostile_rate)
        finally:
            processes.stop_all()
            with contextlib.suppress(Exception):
                drop_database(arguments.database_url)
            with contextlib.suppress(Exception):
                if arguments.broker == "rabbitmq":
                    rabbitmqctl("delete_vhost", queue)
                else:
                    redis.Redis.from_url(arguments.broker_url).delete(
                        queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"
                    )


def rabbitmqctl(*arguments: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *arguments], check=True, capture_output=True, timeout=60)


if __name__ == "__main__":
    main()
