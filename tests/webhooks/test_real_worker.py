"""For real: a Celery worker in another process delivers signed events to a receiver on
127.0.0.1, on Redis and on the filesystem broker; killed, restarted, with its broker down.

The worker cannot see inside a test's rolled-back transaction, so these tests commit for real,
in a database of their own (created, migrated and dropped here) through an app of their own;
the transactional fixtures of the other tests are switched off in this module.
"""

import json
import os
import re
import statistics
import subprocess
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import redis
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy.engine import make_url
from sqlalchemy_utils import create_database, database_exists, drop_database
from standardwebhooks import Webhook as StandardWebhook

from app import create_app
from app.errors import ApiError
from app.events import publish
from app.extensions import celery, db
from app.tasks import broker_settings
from blueprints.webhooks.models import Delivery, Webhook
from config import get_config
from tests.helpers import client_key_headers
from tests.polling import wait_until
from tests.processes import CeleryWorker, OwnRedis, conduit_environment
from tests.webhooks.receiver import Hold, Receiver, Reply, Trickle

pytestmark = pytest.mark.system

SHARED_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
# Fast retries, short timeouts and lease, a sweep every quarter second: what takes minutes in
# production takes a second here.
FAST_WEBHOOK_SETTINGS = {
    "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
    "WEBHOOK_RETRY_BASE_SECONDS": "0.1",
    "WEBHOOK_CONNECT_TIMEOUT_SECONDS": "0.5",
    "WEBHOOK_READ_TIMEOUT_SECONDS": "1.5",
    "WEBHOOK_ATTEMPT_DEADLINE_SECONDS": "1.5",
    "WEBHOOK_DELIVERY_LEASE_SECONDS": "2.5",
    "WEBHOOK_SWEEP_GRACE_SECONDS": "0.5",
    "WEBHOOK_SWEEP_INTERVAL_SECONDS": "0.25",
    # SQLite: as in production, so the worker's threads and this process wait for each other's
    # writes instead of failing with "database is locked".
    "TEST_SQLITE_BEGIN": "BEGIN IMMEDIATE",
}
RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672")
EVERY_BROKER = pytest.mark.parametrize("worker", ["redis", "filesystem", "rabbitmq"], indirect=True)
# A "no sweep" worker: its sweep comes too late for a test to see it, and one attempt fails a
# delivery for good.
NO_SWEEP_SETTINGS = {
    "WEBHOOK_SWEEP_GRACE_SECONDS": "60",
    "WEBHOOK_SWEEP_INTERVAL_SECONDS": "60",
    "WEBHOOK_MAX_ATTEMPTS": "1",
}


@pytest.fixture(autouse=True)
def database():
    """No transactional fixture here: these tests commit for real, in their own database."""


@pytest.fixture(autouse=True)
def empty_broker():
    """No in-process broker here either: tasks go to the real one."""


def own_database_url(folder: Path) -> str:
    """A database of this module's own, beside the test database the run uses."""
    test_url = make_url(get_config("test").SQLALCHEMY_DATABASE_URI)
    if test_url.get_backend_name() == "sqlite":
        return f"sqlite:///{folder / 'conduit.sqlite'}"
    own = test_url.set(database=f"{test_url.database}_webhooks_e2e")
    return own.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def real_app(tmp_path_factory):
    """An app on a database of its own, created and migrated here, dropped at the end."""
    database_url = own_database_url(tmp_path_factory.mktemp("webhooks-database"))
    settings = {"TEST_DATABASE_URL": database_url, **FAST_WEBHOOK_SETTINGS}
    with keeping_celery_settings(), pytest.MonkeyPatch.context() as patch:
        for name, value in settings.items():
            patch.setenv(name, value)
        app = create_app("test")
        add_route_that_publishes_then_fails(app)
        with app.app_context():
            url = db.engine.url
            if database_exists(url):
                drop_database(url)
            mysql = url.get_backend_name() == "mysql"
            create_database(url, encoding="utf8mb4" if mysql else None)
            upgrade()
        app.config["DATABASE_URL_FOR_WORKERS"] = database_url
        yield app
        with app.app_context():
            db.engine.dispose()
            drop_database(url)


def add_route_that_publishes_then_fails(app: Flask) -> None:
    @app.post("/api/test-only/publish-then-fail")
    def publish_then_fail():
        """A view that records an event, then fails before its commit: Flask rolls back."""
        publish("article.created", {"article": {"slug": "rolled-back"}})
        db.session.flush()  # the outbox rows exist in the transaction that is about to roll back
        raise ApiError(422, "failed after publishing")


@contextmanager
def keeping_celery_settings():
    """Give back the one Celery instance as it was: this module points it at real brokers."""
    names = (
        "broker_url",
        "broker_transport_options",
        "task_default_queue",
        *broker_settings(RABBITMQ_URL),
    )
    saved = {name: celery.conf.get(name) for name in names}
    task_class = celery.Task
    try:
        yield
    finally:
        celery.conf.update(saved)
        celery.Task = task_class
        drop_broker_connections()


def drop_broker_connections() -> None:
    """Make the next task sent open a connection to the broker the settings now name."""
    celery._pool = None
    celery.amqp._producer_pool = None


@contextmanager
def sending_to(broker_url: str, transport_options: dict, queue: str):
    """Send this process's tasks to `broker_url`, queue `queue`, inside the block."""
    with keeping_celery_settings():
        celery.conf.update(
            {
                **broker_settings(broker_url),
                "broker_url": broker_url,
                "broker_transport_options": transport_options,
                "task_default_queue": queue,
            }
        )
        drop_broker_connections()
        yield


@dataclass
class RealWorker:
    process: CeleryWorker
    broker_url: str
    own_redis: OwnRedis | None = None


def filesystem_broker_options(folder: Path) -> dict:
    """The filesystem transport's folders, as celeryconfig.py lays them out."""
    folders = {name: folder / name for name in ("queue", "processed", "control")}
    for path in folders.values():
        path.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(folders["queue"]),
        "data_folder_out": str(folders["queue"]),
        "processed_folder": str(folders["processed"]),
        "control_folder": str(folders["control"]),
        "store_processed": False,
        "polling_interval": 0.1,
    }


def worker_environment(
    database_url: str, broker_url: str, folder: Path, queue: str, settings: dict | None = None
) -> dict:
    """The worker's environment: the test config (with `settings`), this module's database and
    broker."""
    return conduit_environment(
        folder,
        **{**FAST_WEBHOOK_SETTINGS, **(settings or {})},
        TEST_DATABASE_URL=database_url,
        # The app's broker (config) and celeryconfig.py's transport options agree on it.
        TEST_CELERY_BROKER_URL=broker_url,
        CELERY_BROKER_URL=broker_url,
        CELERY_DEFAULT_QUEUE=queue,
        LOG_LEVEL="INFO",
    )


@pytest.fixture(scope="module")
def worker(request, real_app, tmp_path_factory):
    """A worker (with beat) on `request.param`: "redis" (the shared server, a queue of this
    run's own), "filesystem", "rabbitmq" (the shared server, a virtual host of this run's own)
    or "own redis" (a server of the test's own it may stop); "... threads" runs the Procfile's
    pool, "... no sweep" NO_SWEEP_SETTINGS."""
    kind = request.param
    folder = tmp_path_factory.mktemp(f"worker-{kind.replace(' ', '-')}")
    threads = 4 if kind.endswith(" threads") else None  # the Procfile's pool
    queue = f"webhooks-e2e-{uuid.uuid4().hex[:12]}"
    own_redis = None
    options: dict = {}
    vhost = None
    if kind.startswith("redis"):
        broker_url = SHARED_REDIS_URL
    elif kind == "rabbitmq":
        vhost = queue
        broker_url = own_rabbitmq_vhost(vhost)
        options = broker_settings(broker_url)["broker_transport_options"]
    elif kind == "filesystem":
        broker_url = "filesystem://"
        options = filesystem_broker_options(folder / "broker")
    else:
        own_redis = OwnRedis(folder / "redis").start()
        broker_url = own_redis.url
    settings = NO_SWEEP_SETTINGS if kind.endswith(" no sweep") else None
    environ = worker_environment(
        real_app.config["DATABASE_URL_FOR_WORKERS"], broker_url, folder, queue, settings
    )
    process = CeleryWorker(environ, folder, name=queue, threads=threads)
    try:
        with sending_to(broker_url, options, queue):
            process.start()
            yield RealWorker(process, broker_url, own_redis)
    finally:
        process.stop(grace=1)
        if own_redis is not None:
            own_redis.stop()
        if kind.startswith("redis"):
            forget_queue(redis.Redis.from_url(broker_url), queue)
        if vhost is not None:
            rabbitmqctl("delete_vhost", vhost)


def rabbitmqctl(*arguments: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *arguments], check=True, capture_output=True, timeout=60)


def own_rabbitmq_vhost(vhost: str) -> str:
    """A RabbitMQ virtual host of the test's own on the shared server (its queues, its
    delay queues, dropped at the end): the URL of it."""
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    return f"{RABBITMQ_URL}/{vhost}"


def forget_queue(server: redis.Redis, queue: str) -> None:
    """Delete the run's queue from the shared Redis, with the messages a killed worker left
    unacknowledged for it (kombu would put them back an hour later)."""
    server.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    for tag, entry in server.hgetall("unacked").items():
        if json.loads(entry)[-1] == queue:  # [message, exchange, routing key]
            server.hdel("unacked", tag)
            server.zrem("unacked_index", tag)


@dataclass
class Hook:
    path: str
    secret: str
    id: int


@pytest.fixture
def hook(real_app, receiver: Receiver, request):
    """A webhook of a new client for article.created, to a receiver path of the test's own."""
    with registered_hook(real_app, receiver, request.node.name) as hook:
        yield hook


@contextmanager
def registered_hook(real_app, receiver: Receiver, name: str):
    """A webhook of a new client for article.created, deleted at the end of the block."""
    path = "/e2e/" + re.sub(r"\W", "-", name) + "-" + uuid.uuid4().hex[:6]
    with real_app.app_context():
        headers = client_key_headers(name[:60])
    client = real_app.test_client()
    response = client.post(
        "/api/webhooks",
        json={"webhook": {"url": receiver.url(path), "events": ["article.created"]}},
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    webhook = response.get_json()["webhook"]
    yield Hook(path, webhook["secret"], webhook["id"])
    # Let the worker finish what it is doing for this webhook before deleting it (on SQLite,
    # a request that writes while the worker writes is refused with "database is locked").
    wait_until(lambda: not pending_deliveries(real_app, webhook["id"]), 10, "deliveries to settle")
    assert client.delete(f"/api/webhooks/{webhook['id']}", headers=headers).status_code == 204


def pending_deliveries(real_app, webhook_id: int) -> int:
    with real_app.app_context():
        query = db.select(db.func.count(Delivery.id)).filter_by(
            webhook_id=webhook_id, status="pending"
        )
        return db.session.scalar(query)


def author_headers(real_app) -> dict[str, str]:
    """Headers of a new user, registered through the API."""
    name = f"author{uuid.uuid4().hex[:10]}"
    user = {"username": name, "email": f"{name}@example.com", "password": "long enough"}
    response = real_app.test_client().post("/api/users", json={"user": user})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Token {response.get_json()['user']['token']}"}


def create_article(real_app, title: str = "Hello", headers: dict | None = None) -> dict:
    article = {"title": f"{title} {uuid.uuid4().hex[:8]}", "description": "d", "body": "b"}
    response = real_app.test_client().post(
        "/api/articles", json={"article": article}, headers=headers or author_headers(real_app)
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["article"]


def stored_delivery(real_app, message_id: str) -> Delivery:
    with real_app.app_context():
        delivery = db.session.scalar(db.select(Delivery).filter_by(message_id=message_id))
        db.session.expunge_all()
        return delivery


def verified(hook: Hook, received) -> dict:
    """The payload of a received request, once standardwebhooks has verified its signature."""
    return StandardWebhook(hook.secret).verify(received.body, received.headers)


@EVERY_BROKER
def test_creating_an_article_delivers_one_signed_event_within_5_seconds(
    real_app, worker, hook, receiver
):
    article = create_article(real_app)

    [received] = receiver.wait_for(hook.path, timeout=5)

    payload = verified(hook, received)
    assert payload["type"] == "article.created"
    assert payload["data"]["article"]["slug"] == article["slug"]
    assert payload["data"]["article"]["title"] == article["title"]
    assert payload["data"]["article"]["author"]["username"] == article["author"]["username"]
    delivery = wait_until(
        lambda: (d := stored_delivery(real_app, received.headers["webhook-id"])).delivered_at and d,
        5,
        "the delivery to be recorded",
    )
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)


@EVERY_BROKER
def test_a_receiver_failing_twice_sees_three_attempts_with_one_webhook_id(
    real_app, worker, hook, receiver
):
    receiver.script(hook.path, 500, 500)

    create_article(real_app)

    attempts = receiver.wait_for(hook.path, count=3, timeout=10)
    message_id = attempts[0].headers["webhook-id"]
    assert [a.headers["webhook-id"] for a in attempts] == [message_id] * 3
    assert all(verified(hook, received) for received in attempts)
    log = wait_until(
        lambda: (
            f"{message_id} (article.created) attempt 3" in (text := worker.process.log()) and text
        ),
        5,
        "the worker to log the third attempt",
    )
    assert f"{message_id} (article.created) attempt 1 to {receiver.url(hook.path)}: HTTP 500" in log
    assert f"{message_id} (article.created) attempt 2 to {receiver.url(hook.path)}: HTTP 500" in log
    assert f"{message_id} (article.created) attempt 3 to {receiver.url(hook.path)}: HTTP 200" in log


@EVERY_BROKER
def test_a_rolled_back_request_sends_nothing(real_app, worker, hook, receiver):
    failed = real_app.test_client().post("/api/test-only/publish-then-fail")
    article = create_article(real_app)

    # One worker takes tasks in order: had the rolled-back event been sent, it came first.
    [received] = receiver.wait_for(hook.path, timeout=5)

    assert failed.status_code == 422
    assert verified(hook, received)["data"]["article"]["slug"] == article["slug"]
    with real_app.app_context():
        payloads = db.session.scalars(db.select(Delivery.payload))
        assert not any("rolled-back" in payload for payload in payloads)


@EVERY_BROKER
def test_a_worker_killed_mid_delivery_delivers_after_restart(real_app, worker, hook, receiver):
    held = Hold()
    receiver.script(hook.path, held)
    create_article(real_app)
    assert held.arrived.wait(5), "the worker never started the delivery"

    worker.process.kill()
    held.release.set()  # the held request answers a worker that is gone
    worker.process.start()

    first, second = receiver.wait_for(hook.path, count=2, timeout=10)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert verified(hook, second)["type"] == "article.created"
    delivery = wait_until(
        lambda: (d := stored_delivery(real_app, second.headers["webhook-id"])).delivered_at and d,
        5,
        "the delivery to be recorded",
    )
    assert (delivery.status, delivery.attempts) == ("delivered", 2)


@pytest.mark.parametrize("worker", ["own redis"], indirect=True)
def test_with_the_broker_down_an_article_is_created_and_delivered_once_it_is_back(
    real_app, worker, hook, receiver, caplog
):
    worker.own_redis.stop()

    article = create_article(real_app)  # asserts the 201

    assert "1 webhook deliveries left pending for the sweep" in caplog.text
    worker.own_redis.start()
    [received] = receiver.wait_for(hook.path, timeout=15)
    assert verified(hook, received)["data"]["article"]["slug"] == article["slug"]


def test_private_targets_are_refused(real_app, monkeypatch):
    monkeypatch.setitem(real_app.config, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
    with real_app.app_context():
        headers = client_key_headers("ssrf")

    response = real_app.test_client().post(
        "/api/webhooks",
        json={"webhook": {"url": "http://127.0.0.1:6379/", "events": ["article.created"]}},
        headers=headers,
    )

    assert response.status_code == 422
    assert "loopback address 127.0.0.1" in response.get_json()["errors"]["url"][0]


def paced(count: int, per_second: float):
    """Yield `count` times, `per_second` times a second: a steady stream of events."""
    started = time.monotonic()
    for index in range(count):
        time.sleep(max(0.0, started + index / per_second - time.monotonic()))  # load pacing
        yield index


def event_latency(received) -> float:
    """Seconds from the event (its payload's timestamp, just before the commit) to arrival."""
    timestamp = json.loads(received.body)["timestamp"].replace("Z", "+00:00")
    return received.at - datetime.fromisoformat(timestamp).timestamp()


@pytest.mark.parametrize("worker", ["redis threads"], indirect=True)
def test_a_trickling_receiver_holds_one_slot_and_another_clients_events_keep_flowing(
    real_app, worker, receiver
):
    # One event of 21 late by a few hundred ms decides the p99: a machine busy with other
    # system tests does that now and then, so a second run must then meet the bound. Old main
    # met it in neither (3 of 21 events within 15 s); every other assertion holds in each run.
    for run in range(2):
        p99, bound, latencies = trickler_run(real_app, receiver, run)
        if p99 <= bound:
            break
    assert p99 <= bound, latencies


def trickler_run(real_app, receiver, run: int) -> tuple[float, float, list[float]]:
    """The honest receiver's p99 under a trickler, the bound it must meet, and its latencies."""
    articles, before = 20, 10
    stop = threading.Event()
    with registered_hook(real_app, receiver, f"honest {run}") as honest:
        headers = author_headers(real_app)
        # The same stream with no trickler first: what this machine gives right now.
        for _ in paced(before, per_second=5):
            create_article(real_app, headers=headers)
        alone = receiver.wait_for(honest.path, count=before, timeout=15)
        with registered_hook(real_app, receiver, f"trickler {run}") as trickler:
            try:
                # Every answer to the trickler comes a byte every 0.1 s: no read times out.
                receiver.script(trickler.path, *[Trickle(stop=stop) for _ in range(4 * articles)])
                create_article(real_app, headers=headers)
                receiver.wait_for(trickler.path, timeout=5)  # it trickles from here on
                for _ in paced(articles, per_second=5):
                    create_article(real_app, headers=headers)

                delivered = receiver.wait_for(honest.path, count=before + articles + 1, timeout=15)
                trickled = receiver.requests(trickler.path)
            finally:
                stop.set()

    latencies = sorted(event_latency(received) for received in delivered[before:])
    percentiles = statistics.quantiles(latencies, n=100)
    p50, p99 = percentiles[49], percentiles[98]
    slowest_alone = max(event_latency(received) for received in alone)
    print(
        f"honest receiver under a trickler: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms "
        f"(alone, before: at most {slowest_alone * 1000:.0f} ms)"
    )
    assert len({r.headers["webhook-id"] for r in delivered}) == before + articles + 1
    # One slot for the trickler's webhook: never two requests at once, above all not with one
    # webhook-id; each was cut at the deadline (1.5 s), not left to trickle on.
    assert receiver.overlapping(trickler.path) == []
    assert all(r.finished_at and r.finished_at - r.at < 2.5 for r in trickled)
    # 1 s, unless this machine is so loaded that the honest receiver alone came close to it.
    return p99, max(1.0, 2 * slowest_alone), latencies


@pytest.mark.parametrize("worker", ["own redis"], indirect=True)
def test_with_the_broker_frozen_a_post_gets_its_201_within_2_seconds_and_is_delivered_once(
    real_app, worker, hook, receiver
):
    headers = author_headers(real_app)
    create_article(real_app, headers=headers)  # this process now holds a broker connection
    [first] = receiver.wait_for(hook.path, timeout=5)
    wait_until(
        lambda: stored_delivery(real_app, first.headers["webhook-id"]).status == "delivered",
        5,
        "the first delivery to be recorded",
    )
    answered: dict = {}

    def post_article() -> None:
        started = time.monotonic()
        article = {"title": f"Frozen {uuid.uuid4().hex[:8]}", "description": "d", "body": "b"}
        response = real_app.test_client().post(
            "/api/articles", json={"article": article}, headers=headers
        )
        answered.update(status=response.status_code, seconds=time.monotonic() - started)

    worker.own_redis.freeze()
    try:
        request = threading.Thread(target=post_article, daemon=True)
        request.start()
        request.join(timeout=2)
    finally:
        worker.own_redis.thaw()
    request.join(timeout=30)

    print(f"POST /api/articles with the broker frozen: {answered.get('seconds', 0):.3f} s")
    assert answered.get("seconds", 99) < 2, answered
    assert answered["status"] == 201
    _, second = receiver.wait_for(hook.path, count=2, timeout=15)
    message_id = second.headers["webhook-id"]
    wait_until(
        lambda: stored_delivery(real_app, message_id).status == "delivered",
        5,
        "the delivery to be recorded",
    )
    assert [r.headers["webhook-id"] for r in receiver.requests(hook.path)].count(message_id) == 1


@pytest.mark.parametrize("worker", ["redis no sweep"], indirect=True)
def test_when_a_paused_webhook_recovers_its_waiting_deliveries_arrive_as_the_pause_ends(
    real_app, worker, hook, receiver
):
    # The only attempt at the first delivery fails for good, and pauses the webhook for 1 s.
    receiver.script(hook.path, Reply(503, {"Retry-After": "1"}))
    headers = author_headers(real_app)
    create_article(real_app, headers=headers)
    [failed] = receiver.wait_for(hook.path, timeout=5)
    paused_until = wait_until(
        lambda: (
            stored_delivery(real_app, failed.headers["webhook-id"]).status == "failed"
            and webhook_paused_until(real_app, hook.id)
        ),
        5,
        "the webhook to be paused",
    )

    # Made while the webhook is paused: they wait for the end of the pause (the receiver is
    # answering 200 again by then), not for the sweep.
    create_article(real_app, headers=headers)
    create_article(real_app, headers=headers)

    _, *waited = receiver.wait_for(hook.path, count=3, timeout=5)
    lateness = [received.at - paused_until.timestamp() for received in waited]
    print("after the end of the pause: " + ", ".join(f"{late * 1000:.0f} ms" for late in lateness))
    assert all(-0.1 < late < 1.0 for late in lateness), lateness


def webhook_paused_until(real_app, webhook_id: int) -> datetime | None:
    with real_app.app_context():
        paused_until = db.session.get(Webhook, webhook_id).paused_until
        db.session.rollback()
        return paused_until
