#!/usr/bin/env python
"""Conduit as a fleet on this machine, under load and faults (root only): every host a network
namespace on a private bridge (10.213.N.0/24, tests/fleet/netns.py), and the machine itself
the receiver of the webhooks (10.213.N.1).

    lb       HAProxy with deploy/fleet/haproxy.cfg
    web1/2   gunicorn (gunicorn.conf.py, 2 workers each)
    worker1/2  celery worker --beat (4 threads, as the Procfile runs it)
    db1, db2 MariaDB primary and replica (GTID replication), mariadbd of the bench's own
    broker   Redis (REDIS_URL, and the broker with --broker redis); with --broker rabbitmq
             (default) the broker is this machine's RabbitMQ, in a virtual host of the bench's
             own, reached through a TCP relay on 10.213.N.1:5672

Seeds users, articles and a webhook, then runs a mixed load through the balancer for
--seconds (reads, writes followed at once by the writer's read, logins, article creations that
produce webhook events) while, in turn: web1 is killed (SIGKILL of all its processes) and
started again, worker1 is killed and started again, the replica is stopped and started again,
and a rolling deploy (`manage.py deploy` on web1, then web2) runs. Then it waits for the
webhooks, and measures the read throughput with one web host and with two, and the CPU each
host spends per request.

Prints: requests, failed requests by kind (idempotent: GET; not: POST/PUT), p50/p99, webhook
events produced vs delivered (by webhook-id: lost, duplicates), SELECTs served by the replica
vs the primary, read-your-writes violations. Removes every namespace, link and process it made.

    sudo .venv/bin/python bench/fleet.py [--seconds 90] [--clients 8] [--broker rabbitmq|redis]
        [--throughput-seconds 15] [--logs DIR]
"""

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from tests.fleet.netns import Host, Network, netns_available  # noqa: E402
from tests.fleet.support import start_haproxy  # noqa: E402
from tests.polling import wait_until  # noqa: E402
from tests.replicas.servers import ReplicatedPair  # noqa: E402

VENV_BIN = Path(sys.executable).parent
DATABASE = "conduit"
DB_USER, DB_PASSWORD = "conduit", "conduit-bench"
RABBITMQ_LOCAL = "127.0.0.1:5672"
WEB_PORT = 8000
TARGET_SCALING = 1.6


@dataclass
class Outcome:
    kind: str  # idempotent | not idempotent
    action: str
    ok: bool
    seconds: float
    detail: str = ""
    at: float = field(default_factory=time.monotonic)


@dataclass
class Tally:
    outcomes: list[Outcome] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    created_slugs: set[str] = field(default_factory=set)
    started: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)


class Receiver:
    """The webhook receiver, on the machine (10.213.N.1): counts each webhook-id and slug."""

    def __init__(self, address: str) -> None:
        self.ids: Counter[str] = Counter()
        self.slugs: set[str] = set()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.ids[self.headers["webhook-id"]] += 1
                    slug = json.loads(body)["data"]["article"]["slug"]
                    receiver.slugs.add(slug)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *arguments) -> None:
                pass

        self.server = ThreadingHTTPServer((address, 0), Handler)
        self.url = f"http://{address}:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class Fleet:
    """The hosts, the processes on them, and how to start, stop and break them."""

    def __init__(self, network: Network, folder: Path, broker: str) -> None:
        self.network = network
        self.folder = folder
        self.broker = broker
        add = network.add_host
        self.lb = add("lb", 2)
        self.web = [add("web1", 11), add("web2", 12)]
        self.workers = [add("worker1", 21), add("worker2", 22)]
        self.db = [add("db1", 31), add("db2", 32)]
        self.broker_host = add("broker", 41)
        self.pair = ReplicatedPair(folder / "mariadb", hosts=tuple(self.db))
        self.vhost = f"bench-fleet-{uuid.uuid4().hex[:8]}"
        self.relay: subprocess.Popen | None = None

    def environment(self, host: Host) -> dict[str, str]:
        primary, replica = (f"{h.address}:3306" for h in self.db)
        credentials = f"{DB_USER}:{DB_PASSWORD}"
        redis_url = f"redis://{self.broker_host.address}:6379"
        if self.broker == "rabbitmq":
            broker_url = f"amqp://guest:guest@{self.network.gateway}:5672/{self.vhost}"
        else:
            broker_url = f"{redis_url}/1"
        inherited = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CELERY_", "WEBHOOK_", "GUNICORN_", "SENTRY_", "LOG_", "DATA"))
        }
        return {
            **inherited,
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(PROJECT_ROOT),
            # Development: webhooks may target the receiver's private address.
            "CONDUIT_CONFIG": "development",
            "DATABASE_URL": f"mysql://{credentials}@{primary}/{DATABASE}",
            "DATABASE_REPLICA_URLS": f"mysql://{credentials}@{replica}/{DATABASE}",
            "REDIS_URL": f"{redis_url}/0",
            "CELERY_BROKER_URL": broker_url,
            "CELERY_BEAT_SCHEDULE": str(self.folder / f"{host.name}-beat-schedule"),
            "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
            # HAProxy forwards the client's address; the bench's clients register, log in and
            # write far faster than the rate limits allow, which would measure the limits.
            "TRUSTED_PROXIES": "1",
            "RATELIMIT_ENABLED": "0",
            "WEBHOOK_SWEEP_INTERVAL_SECONDS": "5",
            "WEBHOOK_SWEEP_GRACE_SECONDS": "5",
            "WEBHOOK_DELIVERY_LEASE_SECONDS": "30",
            "WEBHOOK_RETRY_BASE_SECONDS": "1",
            "GUNICORN_BIND": f"0.0.0.0:{WEB_PORT}",
            "GUNICORN_WORKERS": "2",
            "GUNICORN_PIDFILE": str(self.folder / f"{host.name}.pid"),
            "GUNICORN_ACCESSLOG": "/dev/null",
            "LOG_LEVEL": "WARNING",
            "SENTRY_DSN": "",
        }

    def log(self, host: Host) -> Path:
        return self.folder / f"{host.name}.log"

    def start_databases(self) -> None:
        self.pair.start()
        for server in (self.pair.primary,):
            server.sql(f"CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4")
            server.sql(f"CREATE USER '{DB_USER}'@'%' IDENTIFIED BY '{DB_PASSWORD}'")
            server.sql(f"GRANT ALL PRIVILEGES ON *.* TO '{DB_USER}'@'%'")

    def start_broker(self) -> None:
        self.broker_host.start(
            [
                "redis-server",
                "--bind",
                self.broker_host.address,
                # No password on a private bridge: Redis would refuse every other host.
                "--protected-mode",
                "no",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            dict(os.environ),
            self.log(self.broker_host),
        )
        if self.broker == "rabbitmq":
            rabbitmqctl("add_vhost", self.vhost)
            rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
            # RabbitMQ listens on 127.0.0.1 (and lets guest in only from there): a relay on the
            # bridge passes the hosts' connections on.
            config = self.folder / "relay.cfg"
            config.write_text(
                "defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 1h\n"
                "  timeout server 1h\nlisten rabbitmq\n"
                f"  bind {self.network.gateway}:5672\n  server local {RABBITMQ_LOCAL}\n"
            )
            with open(self.folder / "relay.log", "ab") as log:
                self.relay = subprocess.Popen(
                    ["haproxy", "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT
                )

    def manage(self, *arguments: str, host: Host | None = None) -> str:
        environ = self.environment(host or self.web[0])
        command = [sys.executable, "manage.py", *arguments]
        if host is not None:
            command = ["ip", "netns", "exec", host.netns, *command]
        result = subprocess.run(
            command, cwd=PROJECT_ROOT, env=environ, capture_output=True, text=True, timeout=300
        )
        if result.returncode != 0 and host is None:
            raise RuntimeError(f"manage.py {' '.join(arguments)}: {result.stderr[-2000:]}")
        if host is None:
            return result.stdout
        return f"exit {result.returncode}: {(result.stdout + result.stderr).strip()[-300:]}"

    def start_web(self, host: Host) -> None:
        host.start(
            ["gunicorn", "-c", "gunicorn.conf.py"],
            self.environment(host),
            self.log(host),
            cwd=PROJECT_ROOT,
        )

    def start_worker(self, host: Host) -> None:
        host.start(
            [
                "celery",
                "-A",
                "app.worker",
                "worker",
                "--beat",
                "--pool=threads",
                "--concurrency=4",
                f"--hostname={host.name}@%h",
                "--loglevel=WARNING",
            ],
            self.environment(host),
            self.log(host),
            cwd=PROJECT_ROOT,
        )

    def web_serves(self, host: Host) -> bool:
        try:
            url = f"http://{host.address}:{WEB_PORT}/readyz"
            return requests.get(url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        self.network.destroy()
        if self.relay is not None:
            self.relay.kill()
            self.relay.wait()
        if self.broker == "rabbitmq":
            with contextlib.suppress(Exception):
                rabbitmqctl("delete_vhost", self.vhost)


def rabbitmqctl(*arguments: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *arguments], check=True, capture_output=True, timeout=60)


def cpu_seconds(host: Host) -> float:
    """CPU time (user + system) of every process now running in `host`, children included."""
    total = 0
    for pid in host.pids():
        with contextlib.suppress(OSError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(value) for value in fields[11:15])
    return total / os.sysconf("SC_CLK_TCK")


def select_count(server) -> int:
    return int(server.sql("SHOW GLOBAL STATUS LIKE 'Com_select'")[0][1])


class Client:
    """One simulated user, through the balancer."""

    def __init__(self, base: str, tally: Tally, slugs: list[str]) -> None:
        self.base = base
        self.tally = tally
        self.slugs = slugs
        self.session = requests.Session()
        # A connection per request: a kept-alive one that HAProxy closes as the client reuses
        # it (its keep-alive timeout) would fail a request for the client's sake, not ours.
        self.session.headers["Connection"] = "close"
        name = f"u{uuid.uuid4().hex[:12]}"
        self.credentials = {"email": f"{name}@example.com", "password": "bench-password"}
        response = self.request(
            "POST", "/api/users", "register", json={"user": {"username": name, **self.credentials}}
        )
        self.headers = {"Authorization": f"Token {response.json()['user']['token']}"}

    def request(self, method: str, path: str, action: str, expect=(200, 201), **options):
        kind = "idempotent" if method in ("GET", "HEAD") else "not idempotent"
        started = time.monotonic()
        try:
            response = self.session.request(method, self.base + path, timeout=30, **options)
            ok, detail = response.status_code in expect, str(response.status_code)
        except requests.RequestException as error:
            response, ok, detail = None, False, type(error).__name__
        self.tally.add(Outcome(kind, action, ok, time.monotonic() - started, detail))
        return response

    def act(self) -> None:
        roll = random.random()
        if roll < 0.55:
            path = random.choice(
                [
                    "/api/articles?limit=20",
                    "/api/tags",
                    f"/api/articles/{random.choice(self.slugs)}",
                    "/api/articles?limit=20&offset=40",
                    "/api/articles/feed",
                ]
            )
            # Half anonymous, half as the user; the feed is the user's only.
            anonymous = random.random() < 0.5 and not path.endswith("/feed")
            headers = {} if anonymous else self.headers
            self.request("GET", path, "read", headers=headers)
        elif roll < 0.72:
            bio = uuid.uuid4().hex
            changed = self.request(
                "PUT", "/api/user", "update bio", headers=self.headers, json={"user": {"bio": bio}}
            )
            if changed is not None and changed.status_code == 200:
                read = self.request("GET", "/api/user", "read own bio", headers=self.headers)
                if (
                    read is not None
                    and read.status_code == 200
                    and read.json()["user"]["bio"] != bio
                ):
                    with self.tally.lock:
                        self.tally.violations.append(f"bio {bio}")
        elif roll < 0.90:
            article = {
                "title": f"Fleet {uuid.uuid4().hex[:10]}",
                "description": "d",
                "body": "b",
                "tagList": [random.choice(["fleet", "bench", "haproxy"])],
            }
            created = self.request(
                "POST",
                "/api/articles",
                "create article",
                expect=(201,),
                headers=self.headers,
                json={"article": article},
            )
            if created is not None and created.status_code == 201:
                slug = created.json()["article"]["slug"]
                with self.tally.lock:
                    self.tally.created_slugs.add(slug)
                read = self.request(
                    "GET",
                    f"/api/articles/{slug}",
                    "read own article",
                    expect=(200, 404),
                    headers=self.headers,
                )
                if read is not None and read.status_code == 404:
                    with self.tally.lock:
                        self.tally.violations.append(f"article {slug}")
        else:
            self.request("POST", "/api/users/login", "login", json={"user": self.credentials})


def run_load(
    base: str,
    clients: int,
    seconds: float,
    tally: Tally,
    slugs: list[str],
    timeline: list[tuple[float, str, object]],
) -> None:
    stop = threading.Event()
    users = [Client(base, tally, slugs) for _ in range(clients)]

    def loop(user: Client) -> None:
        while not stop.is_set():
            user.act()

    threads = [threading.Thread(target=loop, args=(user,)) for user in users]
    started = tally.started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        for at, label, action in timeline:
            delay = started + at * seconds - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            print(f"  t={time.monotonic() - started:5.1f} s  {label}", flush=True)
            action()
        remaining = started + seconds - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def throughput(base: str, clients: int, seconds: float) -> tuple[int, float]:
    """Read-only requests through the balancer for `seconds`: (count, failures)."""
    count, failures = [0], [0]
    stop = threading.Event()

    def loop() -> None:
        session = requests.Session()
        while not stop.is_set():
            try:
                ok = session.get(f"{base}/api/articles?limit=20", timeout=30).status_code == 200
            except requests.RequestException:
                ok = False
            count[0] += 1
            failures[0] += not ok

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return count[0], failures[0]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def report(tally: Tally, receiver: Receiver, replica_selects: int, primary_selects: int) -> None:
    outcomes = tally.outcomes
    print(f"\nrequests            {len(outcomes)}")
    for kind in ("idempotent", "not idempotent"):
        of_kind = [o for o in outcomes if o.kind == kind]
        failed = [o for o in of_kind if not o.ok]
        reasons = Counter(f"{o.action}: {o.detail}" for o in failed)
        print(
            f"  {kind:<17} {len(of_kind):6d}, failed {len(failed)}"
            + (f" ({dict(reasons)})" if failed else "")
        )
        for reason in reasons:
            times = [o.at - tally.started for o in failed if f"{o.action}: {o.detail}" == reason]
            print(f"    {reason}: from t={min(times):.1f} s to t={max(times):.1f} s")
    latencies = [o.seconds * 1000 for o in outcomes]
    print(
        f"latency             p50 {percentile(latencies, 0.5):.0f} ms, "
        f"p99 {percentile(latencies, 0.99):.0f} ms"
    )
    delivered = set(receiver.slugs)
    lost = tally.created_slugs - delivered
    duplicates = sum(count - 1 for count in receiver.ids.values())
    print(
        f"webhook events      produced {len(tally.created_slugs)}, delivered "
        f"{len(tally.created_slugs & delivered)} (webhook-ids {len(receiver.ids)}), "
        f"lost {len(lost)}, duplicates {duplicates}"
    )
    total = replica_selects + primary_selects
    share = 100 * replica_selects / total if total else 0
    print(
        f"SELECTs             replica {replica_selects}, primary {primary_selects} "
        f"({share:.0f}% on the replica)"
    )
    print(f"read-your-writes    {len(tally.violations)} violations")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=90, help="the mixed load with faults")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--broker", choices=["rabbitmq", "redis"], default="rabbitmq")
    parser.add_argument("--throughput-seconds", type=float, default=15)
    parser.add_argument("--logs", type=Path, help="keep every host's log in this folder")
    arguments = parser.parse_args()
    if not netns_available():
        sys.exit("bench/fleet.py needs root (network namespaces) and ip")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    print(f"bench/fleet: load average {os.getloadavg()[0]:.2f}, broker {arguments.broker}")

    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as folder, Network() as network:
        fleet = Fleet(network, Path(folder), arguments.broker)
        try:
            bench(fleet, arguments)
        finally:
            fleet.stop()
            if arguments.logs:
                arguments.logs.mkdir(parents=True, exist_ok=True)
                for log in Path(folder).glob("*.log"):
                    shutil.copy(log, arguments.logs / log.name)


def bench(fleet: Fleet, arguments) -> None:
    print(
        f"  network {fleet.network.subnet}.0/24: lb .2, web .11/.12, workers .21/.22, "
        "primary .31, replica .32, broker .41, receiver .1"
    )
    fleet.start_databases()
    fleet.start_broker()
    fleet.manage("db", "upgrade")
    wait_until(fleet.pair.caught_up, 60, "the replica to apply the migrations")
    key = fleet.manage("create-client", "bench").strip().splitlines()[-1]
    for host in fleet.web:
        fleet.start_web(host)
    for host in fleet.workers:
        fleet.start_worker(host)
    start_haproxy(
        "0.0.0.0:80",
        [f"{h.address}:{WEB_PORT}" for h in fleet.web],
        fleet.folder / "lb.log",
        netns=fleet.lb.netns,
    )
    base = f"http://{fleet.lb.address}"
    for host in fleet.web:
        wait_until(lambda h=host: fleet.web_serves(h), 120, f"{host.name} to serve")
    wait_until(lambda: requests.get(f"{base}/healthz", timeout=2).ok, 30, "HAProxy")

    receiver = Receiver(fleet.network.gateway)
    hook = requests.post(
        f"{base}/api/webhooks",
        headers={"X-Client-Key": key},
        timeout=30,
        json={"webhook": {"url": receiver.url, "events": ["article.created"]}},
    )
    assert hook.status_code == 201, hook.text
    seed = Tally()
    author = Client(base, seed, ["none"])
    slugs = []
    for number in range(60):
        article = {
            "title": f"Seed {number} {uuid.uuid4().hex[:6]}",
            "description": "d",
            "body": "b",
            "tagList": ["seed"],
        }
        created = author.request(
            "POST", "/api/articles", "seed", headers=author.headers, json={"article": article}
        )
        slugs.append(created.json()["article"]["slug"])
    wait_until(lambda: len(receiver.slugs) >= len(slugs), 60, "the seed's webhooks")
    receiver.ids.clear()
    receiver.slugs.clear()
    wait_until(fleet.pair.caught_up, 60, "the replica to apply the seed")

    web1, web2 = fleet.web
    worker1 = fleet.workers[0]

    def rolling_deploy() -> None:
        for host in fleet.web:
            outcome = fleet.manage("deploy", host=host).replace("\n", " / ")
            print(f"           manage.py deploy on {host.name}: {outcome}")

    timeline = [
        (0.10, "SIGKILL every process of web1", web1.crash),
        (0.25, "web1 starts again", lambda: fleet.start_web(web1)),
        (0.30, "SIGKILL every process of worker1", worker1.crash),
        (0.40, "the replica stops (mariadbd TERM)", fleet.pair.replica.stop),
        (0.55, "the replica starts again", fleet.pair.replica.start),
        (0.60, "worker1 starts again", lambda: fleet.start_worker(worker1)),
        (0.70, "rolling deploy: manage.py deploy on web1, then web2", rolling_deploy),
    ]
    tally = Tally()
    replica_before = select_count(fleet.pair.replica)
    primary_before = select_count(fleet.pair.primary)
    print(f"\nmixed load: {arguments.clients} clients for {arguments.seconds:g} s, faults:")
    run_load(base, arguments.clients, arguments.seconds, tally, slugs, timeline)
    replica_selects = select_count(fleet.pair.replica) - replica_before
    primary_selects = select_count(fleet.pair.primary) - primary_before
    with contextlib.suppress(AssertionError):
        wait_until(lambda: tally.created_slugs <= receiver.slugs, 90, "every webhook")
    report(tally, receiver, replica_selects, primary_selects)

    print(
        f"\nread throughput (GET /api/articles?limit=20, {arguments.clients} clients, "
        f"{arguments.throughput_seconds:g} s each):"
    )
    results = {}
    for hosts in (1, 2):
        if hosts == 1:
            web2.crash()
            wait_until(lambda: not fleet.web_serves(web2), 10, "web2 to be gone")
            throughput(base, arguments.clients, 3)  # HAProxy takes web2 out meanwhile
        else:
            fleet.start_web(web2)
            wait_until(lambda: fleet.web_serves(web2), 120, "web2 to serve")
            throughput(base, arguments.clients, 3)  # and brings it back
        serving = fleet.web[:hosts]
        cpu = {h.name: cpu_seconds(h) for h in [*serving, fleet.lb, *fleet.db]}
        bench_cpu = time.process_time()
        count, failures = throughput(base, arguments.clients, arguments.throughput_seconds)
        bench_cpu = time.process_time() - bench_cpu
        used = {
            name: cpu_seconds(h) - cpu[name]
            for name, h in [(h.name, h) for h in [*serving, fleet.lb, *fleet.db]]
        }
        rate = count / arguments.throughput_seconds
        results[hosts] = rate
        per_request = ", ".join(
            f"{name} {1000 * seconds / max(count, 1):.1f}" for name, seconds in used.items()
        )
        print(
            f"  {hosts} web host{'s' if hosts > 1 else ''}: {rate:.0f} req/s, failed {failures}; "
            f"CPU ms per request: {per_request}, load client "
            f"{1000 * bench_cpu / max(count, 1):.1f}"
        )
    scaling = results[2] / results[1] if results[1] else 0
    verdict = "met" if scaling >= TARGET_SCALING else "MISSED"
    print(
        f"  2 hosts / 1 host: {scaling:.2f}x (target {TARGET_SCALING}x: {verdict}); machine "
        f"load average now {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
