"""Sentry: an unhandled error in a view and one in a task each reach Sentry exactly once,
tagged with the request id and the release, with every secret scrubbed. A small receiver on
127.0.0.1 stands in for Sentry; sentry-sdk only ever runs in the processes these tests start
(the Test config reads TEST_SENTRY_DSN, which no other test sets)."""

import json
import signal
import subprocess
import sys

import pytest

from config import get_config
from tests.helpers import set_production_secrets
from tests.ops.sentry_receiver import TASK_SIGNING_SECRET, SentryReceiver
from tests.polling import free_port, wait_until
from tests.processes import (
    PROJECT_ROOT,
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


def send_request(environ, method, path, **call):
    """Send one request through tests.ops.worker_app's app in a process of its own, which
    flushes Sentry before it answers."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.ops.worker_app"],
        input=json.dumps(dict(call, method=method, path=path)),
        cwd=PROJECT_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


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
def environ(receiver, tmp_path_factory):
    """The environment of the module's Conduit processes: Sentry is the receiver."""
    folder = tmp_path_factory.mktemp("sentry")
    return conduit_environment(folder, TEST_SENTRY_DSN=receiver.dsn, RELEASE=RELEASE)


@pytest.fixture(scope="module")
def sender(environ, tmp_path_factory):
    """`sender(method, path, **call)`: one request through tests.ops.worker_app's app, in one
    process for the module, which flushes Sentry before it answers; its status and body."""
    errors = tmp_path_factory.mktemp("sender") / "stderr.log"
    with (
        open(errors, "wb") as stderr,
        subprocess.Popen(
            [sys.executable, "-m", "tests.ops.worker_app"],
            cwd=PROJECT_ROOT,
            env=environ,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        ) as process,
    ):

        def send(method, path, **call):
            process.stdin.write(json.dumps(dict(call, method=method, path=path)) + "\n")
            process.stdin.flush()
            answer = process.stdout.readline()
            assert answer, "the sender process exited:\n" + errors.read_text()[-3000:]
            return json.loads(answer)

        yield send
        process.stdin.close()


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
    receiver, new_events, sender
):
    answer = sender(
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
    receiver, new_events, environ, sender, tmp_path
):
    with process_group() as group:
        worker = start(
            ["celery", "-A", "tests.ops.worker_app", "worker", "--concurrency=1"],
            environ,
            tmp_path / "worker.log",
            group,
        )
        answer = sender(
            "POST",
            "/ops/explode-task",
            headers=secret_headers("task-error-9"),
            json={"subscription_id": 7},
        )
        wait_until(new_events, 60, "the worker to report the task's error")
        # Warm shutdown flushes whatever else the worker had to send before it exits.
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)

    [event] = new_events()
    assert event["tags"]["request_id"] == "task-error-9"
    assert answer["status"] == 202
    assert event["tags"]["task"] == "ops.explode"
    assert event["release"] == RELEASE
    assert event["exception"]["values"][-1]["value"] == "task exploded for subscription 7"
    leaked = [s for s in [*SECRETS, TASK_SIGNING_SECRET] if s.encode() in receiver.raw()]
    assert leaked == []


@pytest.mark.system
def test_a_database_error_that_is_a_bug_reaches_sentry_as_a_500(new_events, sender):
    answer = sender("GET", "/ops/sql-bug", headers={"X-Request-ID": "sql-bug-3"})

    [event] = new_events()
    assert event["tags"]["request_id"] == "sql-bug-3"
    assert answer == {"status": 500, "body": {"errors": {"body": ["internal server error"]}}}
    assert "no_such_table" in event["exception"]["values"][-1]["value"]


@pytest.mark.system
def test_an_unreachable_database_is_a_503_that_sentry_does_not_see(receiver, new_events, tmp_path):
    closed_port = f"mysql+pymysql://root@127.0.0.1:{free_port()}/conduit"
    environ = conduit_environment(
        tmp_path, TEST_SENTRY_DSN=receiver.dsn, TEST_DATABASE_URL=closed_port
    )
    answer = send_request(environ, "GET", "/api/profiles/ada")

    assert answer["status"] == 503
    assert answer["body"] == {"errors": {"database": ["unavailable, try again shortly"]}}
    assert new_events() == []
