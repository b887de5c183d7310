"""LOG_FORMAT=json: every line web (a real gunicorn), worker and beat write is one JSON object,
all of it on stderr; gunicorn's access lines carry the request id, duration and worker as
fields."""

import json
import signal

import pytest
import requests

from tests.polling import free_port, wait_until
from tests.processes import (
    Process,
    answers,
    conduit_environment,
    prepare_database,
    process_group,
)

PROCFILE_COMMANDS = {
    "web": ["gunicorn", "-c", "gunicorn.conf.py"],
    "worker": ["celery", "-A", "app.worker", "worker", "--loglevel=INFO", "--pool=threads"],
    # Beat keeps its schedule in memory here: what is checked is the format of its lines, and
    # its shelve file once failed to open at start (LookupError for Latin-1, not understood yet).
    "beat": [
        "celery",
        "-A",
        "app.worker",
        "beat",
        "--loglevel=INFO",
        "-S",
        "celery.beat:Scheduler",
    ],
}


def json_lines(path) -> list[dict]:
    """Every line of `path` as a JSON object (fails on the first line that is not one)."""
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            entry = json.loads(line)
        except ValueError:
            pytest.fail(f"{path.name} line {number} is not JSON: {line!r}")
        assert isinstance(entry, dict), f"{path.name} line {number} is not an object: {line!r}"
        entries.append(entry)
    return entries


@pytest.mark.system
def test_web_worker_and_beat_write_only_json_lines_on_stderr(tmp_path):
    port = free_port()
    environ = conduit_environment(
        tmp_path,
        LOG_FORMAT="json",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="1",
        CELERY_BEAT_SCHEDULE=str(tmp_path / "celerybeat-schedule"),
    )
    prepare_database(environ)
    base = f"http://127.0.0.1:{port}"
    processes = {}
    with process_group() as group:
        for name, command in PROCFILE_COMMANDS.items():
            output, errors = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
            processes[name] = Process(command, environ, output, stderr_path=errors).start()
            group.append(processes[name])
        wait_until(lambda: answers(f"{base}/healthz"), 60, "gunicorn to serve")
        created = requests.post(
            f"{base}/api/users",
            json={
                "user": {
                    "username": "ada",
                    "email": "ada@example.com",
                    "password": "a ledger of small lanterns",
                }
            },
            headers={"X-Request-ID": "json-log-1"},
            timeout=30,
        )
        missing = requests.get(f"{base}/api/profiles/nobody", timeout=30)
        wait_until(
            lambda: (
                "ready" in (tmp_path / "worker.err").read_text()
                and "beat" in (tmp_path / "beat.err").read_text()
            ),
            60,
            "the worker to be ready and beat to start",
        )
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        for process in processes.values():
            process.wait(timeout=60)

    assert created.status_code == 201 and missing.status_code == 404
    for name in PROCFILE_COMMANDS:
        assert (tmp_path / f"{name}.out").read_text() == "", f"{name} wrote to stdout"
    web = json_lines(tmp_path / "web.err")
    worker = json_lines(tmp_path / "worker.err")
    beat = json_lines(tmp_path / "beat.err")
    assert [entry for entry in worker if entry["message"].endswith(" ready.")]
    assert [entry for entry in beat if "beat" in entry["message"]]
    [access] = [entry for entry in web if entry.get("request_id") == "json-log-1"]
    assert access["logger"] == "gunicorn.access"
    assert access["status"] == 201 and access["method"] == "POST"
    assert access["path"] == "/api/users"
    assert isinstance(access["duration_ms"], int) and isinstance(access["worker"], int)
    [not_found] = [entry for entry in web if entry.get("path") == "/api/profiles/nobody"]
    assert not_found["status"] == 404
    assert not_found["request_id"] == missing.headers["X-Request-ID"]
    assert [entry for entry in web if entry["logger"] == "gunicorn.error"]
