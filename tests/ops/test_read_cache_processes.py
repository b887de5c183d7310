"""The read cache across processes: two gunicorn masters with one worker each (each worker is
a process of its own, which a request to its master reaches for sure), one Redis of the test's
own, one database of its own (SQLite file, or `<test database>_read_cache` on MariaDB). After a
write through either of them, neither worker answers an anonymous read with the old data; with
Redis stopped, both answer from the database; with Redis back, from memory.
"""

import pytest
import requests
from sqlalchemy.engine import make_url

from config import get_config
from tests.databases import database_exists, drop_database
from tests.polling import wait_until
from tests.processes import (
    Gunicorn,
    OwnRedis,
    conduit_environment,
    prepare_database,
    process_group,
)

READS_PER_SERVER = 3  # the first may fill the cache, the others then read it
pytestmark = pytest.mark.system


def own_database_url(folder) -> str:
    test_url = make_url(get_config("test").SQLALCHEMY_DATABASE_URI)
    if test_url.get_backend_name() == "sqlite":
        return f"sqlite:///{folder / 'conduit.sqlite'}"
    return test_url.set(database=f"{test_url.database}_read_cache").render_as_string(False)


class Servers:
    """Two gunicorn masters (one worker each) on the same database and Redis."""

    def __init__(self, bases: list[str], redis: OwnRedis) -> None:
        self.bases, self.redis = bases, redis

    def anonymous_reads(self, path: str) -> list[requests.Response]:
        """READS_PER_SERVER anonymous GETs of `path` from each server, each on a new connection."""
        reads = [
            requests.get(base + path, timeout=10)
            for base in self.bases
            for _ in range(READS_PER_SERVER)
        ]
        assert {read.status_code for read in reads} == {200}
        return reads


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    folder = tmp_path_factory.mktemp("read-cache")
    database_url = own_database_url(folder)
    if not database_url.startswith("sqlite") and database_exists(database_url):
        drop_database(database_url)  # left by a run that was killed
    with process_group() as group:
        redis = OwnRedis(folder / "redis").start()
        group.append(redis)
        environ = conduit_environment(
            folder, TEST_DATABASE_URL=database_url, TEST_READ_CACHE_REDIS_URL=redis.url
        )
        prepare_database(environ)
        servers = [
            Gunicorn(
                {**environ, "GUNICORN_PIDFILE": str(folder / f"gunicorn{number}.pid")},
                folder / f"web{number}.log",
                workers=1,
                options=("--no-control-socket",),
            )
            for number in (1, 2)
        ]
        for server in servers:  # both load their app at the same time
            group.append(server.start(ready=None))
        for server in servers:
            server.wait_ready(seconds=120)
        yield Servers([server.base for server in servers], redis)
    if not database_url.startswith("sqlite"):
        drop_database(database_url)


def test_after_a_write_no_process_answers_an_anonymous_read_with_old_data(servers):
    first, second = servers.bases
    user = {"username": "writer", "email": "writer@example.com", "password": "pw-123456"}
    registered = requests.post(f"{first}/api/users", json={"user": user}, timeout=30)
    headers = {"Authorization": f"Token {registered.json()['user']['token']}"}
    article = {"title": "Fresh", "description": "v1", "body": "b", "tagList": ["news"]}
    created = requests.post(
        f"{first}/api/articles", json={"article": article}, headers=headers, timeout=30
    )
    assert created.status_code == 201
    for path in ("/api/articles/fresh", "/api/articles"):
        warm = servers.anonymous_reads(path) + servers.anonymous_reads(path)
        for base in servers.bases:
            assert any(
                read.headers["X-Cache"] == "hit" for read in warm if read.url.startswith(base)
            ), f"{base} served no {path} from its cache"

    for version, writer in (("v2", second), ("v3", first)):
        changed = requests.put(
            f"{writer}/api/articles/fresh",
            json={"article": {"description": version}},
            headers=headers,
            timeout=30,
        )
        assert changed.status_code == 200
        one = servers.anonymous_reads("/api/articles/fresh")
        listed = servers.anonymous_reads("/api/articles")
        assert {read.json()["article"]["description"] for read in one} == {version}
        assert {read.json()["articles"][0]["description"] for read in listed} == {version}

    favorited = requests.post(f"{second}/api/articles/fresh/favorite", headers=headers, timeout=30)
    assert favorited.status_code == 200
    counts = servers.anonymous_reads("/api/articles/fresh")
    assert {read.json()["article"]["favoritesCount"] for read in counts} == {1}


def test_without_redis_every_process_reads_the_database_then_the_cache_again(servers):
    first, second = servers.bases
    user = {"username": "offline", "email": "offline@example.com", "password": "pw-123456"}
    registered = requests.post(f"{first}/api/users", json={"user": user}, timeout=30)
    headers = {"Authorization": f"Token {registered.json()['user']['token']}"}
    article = {"title": "Outage", "description": "before", "body": "b"}
    requests.post(f"{first}/api/articles", json={"article": article}, headers=headers, timeout=30)
    servers.anonymous_reads("/api/articles/outage")

    servers.redis.stop()
    try:
        changed = requests.put(
            f"{second}/api/articles/outage",
            json={"article": {"description": "during"}},
            headers=headers,
            timeout=30,
        )
        during = servers.anonymous_reads("/api/articles/outage")
    finally:
        servers.redis.start()

    assert changed.status_code == 200
    assert {read.json()["article"]["description"] for read in during} == {"during"}
    assert {read.headers["X-Cache"] for read in during} == {"bypass"}
    wait_until(
        lambda: "hit" in {read.headers["X-Cache"] for read in servers.anonymous_reads("/api/tags")},
        10,
        "the cache to serve again once Redis is back",
    )
    after = servers.anonymous_reads("/api/articles/outage")
    assert {read.json()["article"]["description"] for read in after} == {"during"}
