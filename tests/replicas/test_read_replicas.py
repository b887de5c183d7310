"""For real: a MariaDB primary and a replica of the test's own (GTID replication) behind the app
with DATABASE_REPLICA_URLS, and a Redis of its own for the read-your-writes positions.

The replica is made to lag on purpose (MASTER_DELAY), stopped and started again: a user always
reads their own write at once, anonymous reads come from the replica while it is healthy, and
no request fails when it goes away.
"""

import uuid

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from app import create_app
from app.extensions import db
from tests.databases import migrate
from tests.polling import wait_until
from tests.processes import OwnRedis, mariadb_available
from tests.replicas.servers import ReplicatedPair

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(not mariadb_available(), reason="needs mariadbd and mariadb-install-db"),
]

DATABASE = "conduit"


@pytest.fixture(autouse=True)
def database():
    """No transactional fixture here: replication only sees what is committed."""


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    pair = ReplicatedPair(tmp_path_factory.mktemp("replication"))
    try:
        pair.start()
        yield pair
    finally:
        pair.stop()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = OwnRedis(tmp_path_factory.mktemp("replicas-redis"))
    server.start()
    yield server
    server.stop(grace=1)


@pytest.fixture(scope="module")
def replicated_app(pair, redis_server):
    """The app on the pair: migrated on the primary, the schema replicated."""
    settings = {
        "TEST_DATABASE_URL": pair.primary.url(DATABASE),
        "DATABASE_REPLICA_URLS": pair.replica.url(DATABASE),
        "REDIS_URL": redis_server.url,
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in settings.items():
            patch.setenv(name, value)
        pair.primary.sql(f"CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4")
        app = create_app("test")
        with app.app_context():
            migrate()
        wait_until(pair.caught_up, 30, "the replica to apply the migrations")
        yield app
        with app.app_context():
            db.engine.dispose()
        for replica in app.extensions["database_replicas"].replicas:
            replica.engine.dispose()
            replica.probe.dispose()


@pytest.fixture
def lagging(pair, replicated_app, monkeypatch):
    """The replica applies each write 3 s after the primary (the anonymous read that must miss
    the write comes right after it), and the app still counts it as healthy (a lag of up to
    30 s allowed): only read-your-writes keeps the writer off it."""
    monkeypatch.setattr(replicated_app.extensions["database_replicas"], "max_lag", 30)
    pair.follow(delay=3)
    yield
    pair.follow(delay=0)
    wait_until(pair.caught_up, 30, "the replica to catch up")


def replica_reads(app) -> int:
    """How many requests the replica has served in this process."""
    return sum(replica.reads_served for replica in app.extensions["database_replicas"].replicas)


def register(client) -> dict[str, str]:
    name = f"reader{uuid.uuid4().hex[:10]}"
    user = {"username": name, "email": f"{name}@example.com", "password": "long enough"}
    response = client.post("/api/users", json={"user": user})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Token {response.get_json()['user']['token']}"}


def write_article(client, headers) -> str:
    article = {"title": f"Replicated {uuid.uuid4().hex[:8]}", "description": "d", "body": "b"}
    response = client.post("/api/articles", json={"article": article}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["article"]["slug"]


def test_a_user_reads_their_own_writes_at_once_while_the_replica_lags(replicated_app, lagging):
    client = replicated_app.test_client()

    headers = register(client)
    # Registered a moment ago, unknown to the replica: the token still works.
    assert client.get("/api/user", headers=headers).status_code == 200
    slug = write_article(client, headers)
    # Anonymous reads are the replica's, which has not applied the write yet...
    served = replica_reads(replicated_app)
    assert client.get(f"/api/articles/{slug}").status_code == 404
    assert replica_reads(replicated_app) == served + 1
    # ... while the writer reads every write of theirs at once.
    assert client.get(f"/api/articles/{slug}", headers=headers).status_code == 200
    for attempt in range(3):
        bio = f"bio number {attempt}"
        changed = client.put("/api/user", json={"user": {"bio": bio}}, headers=headers)
        assert changed.status_code == 200
        assert client.get("/api/user", headers=headers).get_json()["user"]["bio"] == bio
        slug = write_article(client, headers)
        assert client.get(f"/api/articles/{slug}", headers=headers).status_code == 200

    # Once the replica has applied them, it serves the writer too.
    wait_until(lambda: client.get(f"/api/articles/{slug}").status_code == 200, 20, "the replica")
    served = replica_reads(replicated_app)
    assert client.get(f"/api/articles/{slug}", headers=headers).status_code == 200
    assert replica_reads(replicated_app) == served + 1


def replica_lag(app) -> float | None:
    """The db_replica_lag_seconds gauge of the app's replica, as a scrape would read it."""
    (replica,) = app.extensions["database_replicas"].replicas
    return REGISTRY.get_sample_value("db_replica_lag_seconds", {"replica": replica.name})


def test_reads_move_off_a_stopped_replica_with_no_error_and_come_back(replicated_app, pair):
    client = replicated_app.test_client()
    headers = register(client)
    slug = write_article(client, headers)
    wait_until(pair.caught_up, 10, "the replica to catch up")
    assert client.get(f"/api/articles/{slug}").status_code == 200

    pair.replica.stop()
    try:
        served = replica_reads(replicated_app)
        for _ in range(10):
            assert client.get(f"/api/articles/{slug}").status_code == 200
            assert client.get("/api/articles", headers=headers).status_code == 200
            assert client.get("/api/user", headers=headers).status_code == 200
        assert replica_reads(replicated_app) == served
        assert replica_lag(replicated_app) == float("inf")  # unknown: the alert fires
    finally:
        pair.replica.start()

    def replica_serves_again() -> bool:
        before = replica_reads(replicated_app)
        assert client.get(f"/api/articles/{slug}").status_code == 200
        return replica_reads(replicated_app) > before

    wait_until(replica_serves_again, 10, "the replica to serve again")


def test_a_replica_further_behind_than_the_maximum_is_skipped(replicated_app, pair, monkeypatch):
    router = replicated_app.extensions["database_replicas"]
    monkeypatch.setattr(router, "max_lag", 1)
    client = replicated_app.test_client()
    headers = register(client)
    pair.follow(delay=4)
    try:
        slug = write_article(client, headers)
        # Its lag grows to 4 s: past 1 s the app reads from the primary, which has the article.
        wait_until(lambda: not router.replicas[0].is_healthy(router.max_lag), 10, "the lag to show")
        assert 1 < replica_lag(replicated_app) < float("inf")
        served = replica_reads(replicated_app)
        assert client.get(f"/api/articles/{slug}").status_code == 200
        assert replica_reads(replicated_app) == served
    finally:
        pair.follow(delay=0)
    wait_until(pair.caught_up, 30, "the replica to catch up")
    wait_until(lambda: router.replicas[0].is_healthy(router.max_lag), 10, "the replica healthy")


def test_work_outside_requests_uses_the_primary(replicated_app, pair):
    """Celery tasks, commands and migrations run outside requests: the primary serves them."""
    with replicated_app.app_context():
        assert db.session.execute(text("SELECT @@server_id")).scalar() == 1
        assert db.engine.url.port == pair.primary.port
