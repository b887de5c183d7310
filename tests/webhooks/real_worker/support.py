"""What the real-worker tests share: the settings that shrink minutes to seconds, the brokers,
and helpers that go through the API of this folder's own app (see conftest.py)."""

import json
import os
import re
import subprocess
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import amqp
import kombu
from standardwebhooks import Webhook as StandardWebhook

from app.extensions import celery, db
from app.tasks import broker_settings
from blueprints.webhooks.models import Delivery, Webhook
from tests.helpers import client_key_headers
from tests.polling import wait_until
from tests.processes import CeleryWorker, OwnRedis, conduit_environment
from tests.webhooks.receiver import Receiver

SHARED_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
# Fast retries, short timeouts and lease, a sweep every half second: what takes minutes in
# production takes a second here.
FAST_WEBHOOK_SETTINGS = {
    "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
    "WEBHOOK_RETRY_BASE_SECONDS": "0.1",
    "WEBHOOK_CONNECT_TIMEOUT_SECONDS": "0.5",
    "WEBHOOK_READ_TIMEOUT_SECONDS": "1.5",
    "WEBHOOK_ATTEMPT_DEADLINE_SECONDS": "1.5",
    "WEBHOOK_DELIVERY_LEASE_SECONDS": "2.5",
    "WEBHOOK_SWEEP_GRACE_SECONDS": "0.5",
    "WEBHOOK_SWEEP_INTERVAL_SECONDS": "0.5",
    # SQLite: as in production, so the worker's threads and this process wait for each other's
    # writes instead of failing with "database is locked".
    "TEST_SQLITE_BEGIN": "BEGIN IMMEDIATE",
}
RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672")
# The virtual host the tests share on the RabbitMQ server: created the first time it is
# missing (rabbitmqctl takes seconds), then kept; each worker's queue in it is its own.
RABBITMQ_VHOST = "conduit-tests"
# A "no sweep" worker: its sweep comes too late for a test to see it, and one attempt fails a
# delivery for good.
NO_SWEEP_SETTINGS = {
    "WEBHOOK_SWEEP_GRACE_SECONDS": "60",
    "WEBHOOK_SWEEP_INTERVAL_SECONDS": "60",
    "WEBHOOK_MAX_ATTEMPTS": "1",
}


@contextmanager
def keeping_celery_settings():
    """Give back the one Celery instance as it was: these tests point it at real brokers."""
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


def worker_environment(
    database_url: str, broker_url: str, folder: Path, queue: str, settings: dict | None = None
) -> dict:
    """The worker's environment: the test config (with `settings`), this folder's database and
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


def rabbitmqctl(*arguments: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *arguments], check=True, capture_output=True, timeout=60)


def rabbitmq_vhost_url() -> str:
    """The URL of the tests' virtual host on the shared RabbitMQ server, created if missing."""
    url = f"{RABBITMQ_URL}/{RABBITMQ_VHOST}"
    try:
        with kombu.Connection(url, connect_timeout=5) as connection:
            connection.connect()
    except amqp.exceptions.NotAllowed:  # 530: no such virtual host
        rabbitmqctl("add_vhost", RABBITMQ_VHOST)
        rabbitmqctl("set_permissions", "-p", RABBITMQ_VHOST, "guest", ".*", ".*", ".*")
    return url


def forget_rabbitmq_queue(broker_url: str, queue: str) -> None:
    """Delete the run's queue from the shared virtual host, with the messages a killed worker
    left in it, its bindings (to the delay exchanges too) and the exchange named after it."""
    with kombu.Connection(broker_url, connect_timeout=5) as connection:
        channel = connection.default_channel
        channel.queue_delete(queue)
        channel.exchange_delete(queue)


def forget_redis_queue(broker_url: str, queue: str) -> None:
    """Delete the run's queue from the shared Redis, with the messages a killed worker left
    unacknowledged for it (kombu would put them back an hour later)."""
    import redis  # here: every pytest worker imports this module, and redis-py costs 80 ms

    server = redis.Redis.from_url(broker_url)
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


def webhook_paused_until(real_app, webhook_id: int):
    with real_app.app_context():
        paused_until = db.session.get(Webhook, webhook_id).paused_until
        db.session.rollback()
        return paused_until


def verified(hook: Hook, received) -> dict:
    """The payload of a received request, once standardwebhooks has verified its signature."""
    return StandardWebhook(hook.secret).verify(received.body, received.headers)
