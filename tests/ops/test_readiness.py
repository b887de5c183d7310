"""Readiness: /readyz names the database and the broker. Against a MariaDB and a Redis of the
test's own (never the shared ones), a real gunicorn answers 503s naming the part that is down,
in seconds, and recovers by itself when it is back; pooled connections survive a restart."""

import time

import pytest
import requests

from tests.polling import wait_until
from tests.processes import (
    Gunicorn,
    OwnMariaDB,
    OwnRedis,
    answers,
    conduit_environment,
    prepare_database,
    process_group,
)

# Longest a request may take while a dependency is down: a hung worker would take gunicorn's
# timeout (30 s) and come back as a dropped connection.
QUICK_SECONDS = 8


def test_readyz_names_each_part_when_all_answer(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ready",
        "checks": {"database": "ok", "broker": "ok"},
    }


class Service:
    """A real gunicorn serving Conduit on the test's own MariaDB and Redis."""

    def __init__(self, base: str, mariadb: OwnMariaDB, redis: OwnRedis) -> None:
        self.base, self.mariadb, self.redis = base, mariadb, redis

    def get(self, path: str) -> tuple[requests.Response, float]:
        """GET `path`: the response and how many seconds it took."""
        started = time.monotonic()
        response = requests.get(self.base + path, timeout=QUICK_SECONDS * 2)
        return response, time.monotonic() - started

    def unready(self) -> tuple[requests.Response, float]:
        """/readyz, asked until it answers 503 (a process keeps its answer for a second)."""

        def answer_if_unready():
            response, seconds = self.get("/readyz")
            return (response, seconds) if response.status_code == 503 else None

        return wait_until(answer_if_unready, QUICK_SECONDS, "/readyz to answer 503")

    def worker_pid(self) -> int:
        return requests.get(f"{self.base}/healthz", timeout=5).json()["pid"]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    folder = tmp_path_factory.mktemp("readiness")
    with process_group() as group:
        mariadb = OwnMariaDB(folder / "mariadb").start()
        redis = OwnRedis(folder / "redis").start()
        group += [mariadb, redis]
        environ = conduit_environment(
            folder,
            TEST_DATABASE_URL=mariadb.url("conduit_ops_readiness"),
            TEST_CELERY_BROKER_URL=redis.url,
        )
        prepare_database(environ)
        # One worker, one pool: the request after a restart meets stale connections.
        gunicorn = Gunicorn(environ, folder / "web.log", workers=1)
        group.append(gunicorn.start("/readyz"))
        base = gunicorn.base
        created = requests.post(
            f"{base}/api/users",
            json={"user": {"username": "ada", "email": "ada@example.com", "password": "pw-123456"}},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        yield Service(base, mariadb, redis)
        gunicorn.stop(grace=60)


@pytest.mark.system
def test_a_database_outage_answers_503_naming_the_database_then_recovers(service):
    pid = service.worker_pid()
    service.mariadb.stop()

    readiness, readiness_seconds = service.unready()
    profile, profile_seconds = service.get("/api/profiles/ada")
    alive, _ = service.get("/healthz")
    service.mariadb.start()
    wait_until(lambda: answers(service.base + "/readyz"), 30, "/readyz to recover")
    recovered, _ = service.get("/api/profiles/ada")

    assert readiness.status_code == 503
    assert set(readiness.json()["errors"]) == {"database"}
    assert readiness_seconds < QUICK_SECONDS
    assert profile.status_code == 503
    assert set(profile.json()["errors"]) == {"database"}
    assert profile_seconds < QUICK_SECONDS
    assert alive.status_code == 200
    assert recovered.status_code == 200
    assert recovered.json()["profile"]["username"] == "ada"
    assert service.worker_pid() == pid  # the same worker served throughout: none hung


@pytest.mark.system
def test_pooled_connections_outlive_a_database_restart(service):
    before, _ = service.get("/api/profiles/ada")  # the worker's pool now holds a connection
    service.mariadb.stop()
    service.mariadb.start()

    after, _ = service.get("/api/profiles/ada")

    assert before.status_code == 200
    assert after.status_code == 200  # pre-ping replaced the dead connection unnoticed


@pytest.mark.system
def test_a_broker_outage_answers_503_naming_the_broker_then_recovers(service):
    service.redis.stop()

    readiness, seconds = service.unready()
    service.redis.start()
    wait_until(lambda: answers(service.base + "/readyz"), 30, "/readyz to recover")

    assert readiness.status_code == 503
    assert readiness.json() == {"errors": {"broker": ["unreachable"]}}
    assert seconds < QUICK_SECONDS
