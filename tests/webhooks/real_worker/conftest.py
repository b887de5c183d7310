"""For real: a Celery worker in another process delivers signed events to a receiver on
127.0.0.1, on Redis, RabbitMQ and the filesystem broker; killed, restarted, with its broker
down. Each file runs one kind of worker (so that files run in parallel).

The worker cannot see inside a test's rolled-back transaction, so these tests commit for real,
in a database of their own through an app of their own; the transactional fixtures of the other
tests are switched off in this folder. Each file's database starts with the migrated schema and
no rows, as the test database does (tests/databases.py: kept from the last run on MariaDB, where
running the migrations takes seconds).
"""

import uuid
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.engine import make_url

from app import create_app
from app.errors import ApiError
from app.events import publish
from app.extensions import db
from app.tasks import broker_settings
from celeryconfig import filesystem_broker_options
from config import get_config
from tests.databases import migrate, prepare_schema
from tests.processes import CeleryWorker, OwnRedis
from tests.webhooks.receiver import Receiver

from .support import (
    FAST_WEBHOOK_SETTINGS,
    NO_SWEEP_SETTINGS,
    SHARED_REDIS_URL,
    RealWorker,
    forget_rabbitmq_queue,
    forget_redis_queue,
    keeping_celery_settings,
    rabbitmq_vhost_url,
    registered_hook,
    sending_to,
    worker_environment,
)


@pytest.fixture(autouse=True)
def database():
    """No transactional fixture here: these tests commit for real, in their own database."""


@pytest.fixture(autouse=True)
def empty_broker():
    """No in-process broker here either: tasks go to the real one."""


def own_database_url(folder: Path) -> str:
    """A database of the file's own, beside the test database the run uses."""
    test_url = make_url(get_config("test").SQLALCHEMY_DATABASE_URI)
    if test_url.get_backend_name() == "sqlite":
        return f"sqlite:///{folder / 'conduit.sqlite'}"
    own = test_url.set(database=f"{test_url.database}_webhooks_e2e")
    return own.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def real_app(tmp_path_factory):
    """An app on a database of its own, with the migrated schema and no rows."""
    database_url = own_database_url(tmp_path_factory.mktemp("webhooks-database"))
    settings = {"TEST_DATABASE_URL": database_url, **FAST_WEBHOOK_SETTINGS}
    with keeping_celery_settings(), pytest.MonkeyPatch.context() as patch:
        for name, value in settings.items():
            patch.setenv(name, value)
        app = create_app("test")
        add_route_that_publishes_then_fails(app)
        with app.app_context():
            prepare_schema(db.engine, migrate)
        app.config["DATABASE_URL_FOR_WORKERS"] = database_url
        yield app
        with app.app_context():
            db.engine.dispose()


def add_route_that_publishes_then_fails(app: Flask) -> None:
    @app.post("/api/test-only/publish-then-fail")
    def publish_then_fail():
        """A view that records an event, then fails before its commit: Flask rolls back."""
        publish("article.created", {"article": {"slug": "rolled-back"}})
        db.session.flush()  # the outbox rows exist in the transaction that is about to roll back
        raise ApiError(422, "failed after publishing")


@pytest.fixture(scope="module")
def worker(request, real_app, tmp_path_factory):
    """A worker (with beat) on `request.param`: "redis" (the shared server, a queue of this
    run's own), "filesystem", "rabbitmq" (the shared server, a queue of this run's own in the
    tests' virtual host) or "own redis" (a server of the test's own it may stop); "... threads"
    runs the Procfile's pool, "... no sweep" NO_SWEEP_SETTINGS."""
    kind = request.param
    folder = tmp_path_factory.mktemp(f"worker-{kind.replace(' ', '-')}")
    threads = 4 if kind.endswith(" threads") else None  # the Procfile's pool
    queue = f"webhooks-e2e-{uuid.uuid4().hex[:12]}"
    own_redis = None
    options: dict = {}
    if kind.startswith("redis"):
        broker_url = SHARED_REDIS_URL
    elif kind == "rabbitmq":
        broker_url = rabbitmq_vhost_url()
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
        process.kill()  # nothing of it is checked any more
        if own_redis is not None:
            own_redis.stop()
        if kind.startswith("redis"):
            forget_redis_queue(broker_url, queue)
        if kind == "rabbitmq":
            forget_rabbitmq_queue(broker_url, queue)


@pytest.fixture
def hook(real_app, receiver: Receiver, request):
    """A webhook of a new client for article.created, to a receiver path of the test's own."""
    with registered_hook(real_app, receiver, request.node.name) as hook:
        yield hook
