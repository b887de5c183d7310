"""Sentry: an unhandled error in a view and one in a task each reach Sentry exactly once,
tagged with the request id and the release, with every secret scrubbed. A small receiver on
127.0.0.1 stands in for Sentry; sentry-sdk only ever runs in the processes these tests start
(the Test config reads TEST_SENTRY_DSN, which no other test sets)."""

import json
import signal
import subprocess
import sys
from dataclasses import dataclass

import pytest

from config import get_config
from tests.helpers import set_production_secrets
from tests.ops.sentry_receiver import TASK_SIGNING_SECRET, SentryReceiver
from tests.polling import free_port
from tests.processes import (
    PROJECT_ROOT,
    Process,
    conduit_environment,
    process_group,
    start,
)

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
CLIENT_KEY = "ck_live_5f2b8e0c9d1a4b7e"
COOKIE_VALUE = "cookie-session-value-31337"
PASSWORD = "correct horse battery staple"
WEBHOOK_SECRET = "whsec_body-secret-0c0ffee"
SECRETS = [JWT, CLIENT_KEY, COOKIE_VALUE, PASSWORD, WEBHOOK_SECRET]
RELEASE = "1.2.3-ops"


def secret_headers(request_id):
    return {
        "X-Request-ID": request_id,
        "Authorization": f"Token {JWT}",
        "X-Client-Key": CLIENT_KEY,
        "Cookie": f"session={COOKIE_VALUE}; theme=dark",
    }


class Sender:
    """tests.ops.worker_app's app in a process of its own: `sender(method, path, **call)` sends
    a request through it (the real Flask stack, Sentry's integration included), which flushes
    Sentry before it answers; its status and body."""

    def __init__(self, environ, log_path):
        self.log_path = log_path
        with open(log_path, "wb") as errors:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.ops.worker_app"],
                cwd=PROJECT_ROOT,
                env=environ,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
            )

    def __call__(self, method, path, **call):
        self.process.stdin.write(json.dumps(dict(call, method=method, path=path)) + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        assert answer, "the sender process exited:\n" + self.log_path.read_text()[-3000:]
        return json.loads(answer)

    def close(self):
        self.process.stdin.close()  # its last line read: it exits
        try:
            self.process.wait(timeout=30)
        finally:
            self.process.kill()
            self.process.stdout.close()


@dataclass
class Conduit:
    sender: Sender
    worker: Process
    sender_without_database: Sender


@pytest.fixture(scope="module")
def receiver():
    """One stand-in for Sentry for the module's tests, which run one after the other."""
    with SentryReceiver() as receiver:
        yield receiver


@pytest.fixture
def new_events(receiver):
    """`new_events()`: the events Sentry received since the test began."""
    seen = len(receiver.events())
    return lambda: receiver.events()[seen:]


@pytest.fixture(scope="module")
def conduit(receiver, tmp_path_factory):
    """The module's Conduit processes, started at once (each takes seconds to load the app),
    Sentry's DSN the receiver's: a sender; a worker on the sender's broker; and a sender whose
    database does not answer."""
    folder = tmp_path_factory.mktemp("sentry")
    environ = conduit_environment(folder, TEST_SENTRY_DSN=receiver.dsn, RELEASE=RELEASE)
    closed_port = f"mysql+pymysql://root@127.0.0.1:{free_port()}/conduit"
    without_database = {**environ, "TEST_DATABASE_URL": closed_port}
    with process_group() as group:
        worker = start(
            # The Procfile's pool (a prefork pool's warm shutdown, which the task error test
            # waits for, takes seconds more).
            ["celery", "-A", "tests.ops.worker_app", "worker", "--pool=threads", "--concurrency=1"],
            environ,
            folder / "worker.log",
            group,
        )
        sender = Sender(environ, folder / "sender.log")
        sender_without_database = Sender(without_database, folder / "no-database.log")
        try:
            yield Conduit(sender, worker, sender_without_database)
        finally:
            sender.close()
            sender_without_database.close()


def test_sentry_is_off_in_the_test_process():
    import sentry_sdk

    assert not sentry_sdk.get_client().is_active()


def test_the_test_config_ignores_a_developers_sentry_dsn(monkeypatch):
    monkeypatch.setenv("SENTRY_DSN", "http://key@sentry.example.com/1")
    monkeypatch.delenv("TEST_SENTRY_DSN", raising=False)
    monkeypatch.setenv("DATABASE_URL", "mysql://db.internal/conduit")
    set_production_secrets(monkeypatch)
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://redis.internal:6379/0")

    assert get_config("test").SENTRY_DSN == ""
    assert get_config("production").SENTRY_DSN == "http://key@sentry.example.com/1"


@pytest.mark.system
def test_an_unhandled_view_error_reaches_sentry_once_tagged_and_scrubbed(
    receiver, new_events, conduit
):
    answer = conduit.sender(
        "POST",
        "/ops/explode",
        headers=secret_headers("view-error-7"),
        json={"user": {"password": PASSWORD}, "webhook": {"secret": WEBHOOK_SECRET}},
    )

    [event] = new_events()
    assert event["tags"]["request_id"] == "view-error-7"
    assert answer == {"status": 500, "body": {"errors": {"body": ["internal server error"]}}}
    assert event["release"] == RELEASE
    assert event["exception"]["values"][-1]["value"].startswith("view exploded")
    assert event["request"]["headers"]["X-Request-Id"] == "view-error-7"
    leaked = [secret for secret in SECRETS if secret.encode() in receiver.raw()]
    assert leaked == []


@pytest.mark.system
def test_an_unhandled_task_error_reaches_sentry_once_tagged_and_scrubbed(
    receiver, new_events, conduit
):
    answer = conduit.sender(
        "POST",
        "/ops/explode-task",
        headers=secret_headers("task-error-9"),
        json={"subscription_id": 7},
    )
    conduit.worker.wait_until(new_events, 60, "the worker to report the task's error")
    # Warm shutdown flushes whatever else the worker had to send before it exits.
    conduit.worker.send_signal(signal.SIGTERM)
    conduit.worker.wait(timeout=60)

    [event] = new_events()
    assert event["tags"]["request_id"] == "task-error-9"
    assert answer["status"] == 202
    assert event["tags"]["task"] == "ops.explode"
    assert event["release"] == RELEASE
    assert event["exception"]["values"][-1]["value"] == "task exploded for subscription 7"
    leaked = [s for s in [*SECRETS, TASK_SIGNING_SECRET] if s.encode() in receiver.raw()]
    assert leaked == []


@pytest.mark.system
def test_a_database_error_that_is_a_bug_reaches_sentry_as_a_500(new_events, conduit):
    answer = conduit.sender("GET", "/ops/sql-bug", headers={"X-Request-ID": "sql-bug-3"})

    [event] = new_events()
    assert event["tags"]["request_id"] == "sql-bug-3"
    assert answer == {"status": 500, "body": {"errors": {"body": ["internal server error"]}}}
    assert "no_such_table" in event["exception"]["values"][-1]["value"]


@pytest.mark.system
def test_an_unreachable_database_is_a_503_that_sentry_does_not_see(new_events, conduit):
    answer = conduit.sender_without_database("GET", "/api/profiles/ada")
    conduit.sender_without_database.close()  # nothing more to send at its exit either

    assert answer["status"] == 503
    assert answer["body"] == {"errors": {"database": ["unavailable, try again shortly"]}}
    assert new_events() == []
