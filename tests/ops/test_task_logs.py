"""Request ids follow work into Celery tasks: a real worker on a filesystem broker of the
test's own logs a task's lines under the id of the request that sent it, in JSON."""

import json
import subprocess
import sys

import pytest

from tests.polling import wait_until
from tests.processes import (
    PROJECT_ROOT,
    conduit_environment,
    process_group,
    start,
)

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    """A real worker (threads, as the Procfile runs it) logging JSON lines to a file, and a
    process that sends tasks to it (tests.ops.worker_app's app, one for the module)."""
    folder = tmp_path_factory.mktemp("task-logs")
    with process_group() as group:
        environ = conduit_environment(folder, LOG_FORMAT="json")
        log_path = folder / "worker.log"
        process = start(
            ["celery", "-A", "tests.ops.worker_app", "worker", "--pool=threads", "--concurrency=1"],
            environ,
            log_path,
            group,
        )
        with subprocess.Popen(
            [sys.executable, "-m", "tests.ops.worker_app"],
            cwd=PROJECT_ROOT,
            env=environ,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        ) as sender:
            yield sender, log_path
            sender.stdin.close()
        process.kill()  # nothing left to finish, nothing to flush


def send(sender, call: dict) -> dict:
    """Have the sender process do what `call` says (see tests/ops/worker_app.py); its answer."""
    sender.stdin.write(json.dumps(call) + "\n")
    sender.stdin.flush()
    answer = sender.stdout.readline()
    assert answer, "the sender process exited"
    return json.loads(answer)


def send_request(sender, method, path, **call):
    """Send one request through tests.ops.worker_app's app; its status and JSON body."""
    return send(sender, dict(call, method=method, path=path))


def log_entries(log_path):
    """The JSON lines of the worker's log (its banner is plain text)."""
    lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def logged_lines(log_path, message):
    """The worker's JSON log lines whose message is `message`."""
    return [entry for entry in log_entries(log_path) if entry["message"] == message]


def test_task_log_lines_carry_the_sending_request_id_and_the_task_name(worker):
    sender, log_path = worker

    answer = send_request(
        sender,
        "POST",
        "/ops/echo",
        json={"text": "hello Zoë"},
        headers={"X-Request-ID": "trace-into-task-42"},
    )
    [line] = wait_until(
        lambda: logged_lines(log_path, "echo hello Zoë"), 60, "the worker to run the task"
    )

    assert answer["status"] == 202
    assert line["request_id"] == "trace-into-task-42"
    assert line["task"] == "ops.echo"
    assert (line["level"], line["logger"]) == ("INFO", "conduit.ops")


def test_celery_own_lines_about_a_task_carry_its_request_id(worker):
    sender, log_path = worker

    send_request(
        sender,
        "POST",
        "/ops/echo",
        json={"text": "celery reports"},
        headers={"X-Request-ID": "trace-celery-lines"},
    )
    wait_until(lambda: logged_lines(log_path, "echo celery reports"), 60, "the task to run")

    def celery_lines():
        return [
            entry
            for entry in log_entries(log_path)
            if entry["logger"] == "celery.app.trace" and entry["request_id"] == "trace-celery-lines"
        ]

    [line] = wait_until(celery_lines, 30, "celery's line about the task, under its request id")
    assert "succeeded" in line["message"]
    assert line["task"] == "ops.echo"


def test_a_task_sent_outside_any_request_logs_without_a_request_id(worker):
    sender, log_path = worker

    send(sender, {"echo": "no request"})
    [line] = wait_until(
        lambda: logged_lines(log_path, "echo no request"), 60, "the worker to run the task"
    )

    assert line["request_id"] == "-"
    assert line["task"] == "ops.echo"
