"""`make run`'s process model: honcho starts every Procfile process on embedded defaults (SQLite,
the filesystem broker), the web process answers, an event created through the API reaches a
webhook receiver through the worker, and Ctrl-C stops them all, leaving nothing behind."""

import json
import signal
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.polling import free_port, wait_until
from tests.processes import (
    PROJECT_ROOT,
    VENV_BIN,
    answers,
    conduit_environment,
    create_client_key,
    prepare_database,
    process_group,
    start,
)

pytestmark = pytest.mark.system


# What ps shows of the Procfile's processes: gunicorn's worker, the Celery worker, and beat.
TITLES = ("gunicorn: worker", "celeryd", "celery beat")


def titled_processes(honcho) -> str | None:
    """The command lines (titles) of every process honcho runs, joined, once each of TITLES
    is among them; else None."""
    running = " | ".join(honcho.descendants().values())
    return running if all(title in running for title in TITLES) else None


def procfile_names() -> list[str]:
    lines = (PROJECT_ROOT / "Procfile").read_text().splitlines()
    return [line.split(":", 1)[0].strip() for line in lines if ":" in line and line[0] != "#"]


class WebhookReceiver:
    """An HTTP endpoint on 127.0.0.1 that keeps the JSON bodies posted to it."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def create_article_with_a_webhook(base: str, client_key: str, hook_url: str) -> None:
    """Subscribe `hook_url` to article.created, then create an article as a new user."""
    webhook = requests.post(
        f"{base}/api/webhooks",
        headers={"X-Client-Key": client_key},
        json={"webhook": {"url": hook_url, "events": ["article.created"]}},
        timeout=30,
    )
    assert webhook.status_code == 201, webhook.text
    user = requests.post(
        f"{base}/api/users",
        json={"user": {"username": "zoe", "email": "zoe@example.com", "password": "pw-123456"}},
        timeout=30,
    ).json()["user"]
    article = requests.post(
        f"{base}/api/articles",
        headers={"Authorization": f"Token {user['token']}"},
        json={"article": {"title": "Hello honcho", "description": "d", "body": "b"}},
        timeout=30,
    )
    assert article.status_code == 201, article.text


def test_honcho_runs_every_procfile_process_and_ctrl_c_stops_them_all(tmp_path):
    port = free_port()
    empty_env_file = tmp_path / "empty.env"  # a developer's .env must not change the run
    empty_env_file.write_text("")
    honcho_log = tmp_path / "honcho.log"
    environ = conduit_environment(
        tmp_path,
        CONDUIT_CONFIG="development",
        GUNICORN_WORKERS="1",
        WEBHOOK_ALLOW_PRIVATE_TARGETS="1",  # the receiver is on 127.0.0.1
    )
    prepare_database(environ)
    client_key = create_client_key(environ)
    receiver = WebhookReceiver()
    with process_group() as group:
        honcho = start(
            [str(VENV_BIN / "honcho"), "start", "-e", str(empty_env_file), "-p", str(port)],
            environ,
            honcho_log,
            group,
        )
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(f"{base}/healthz"), 60, "the web process to answer")
        ready = requests.get(f"{base}/readyz", timeout=10)
        wait_until(
            lambda: all(f"{name}.1 started" in honcho_log.read_text() for name in procfile_names()),
            30,
            "every Procfile process to start",
        )
        create_article_with_a_webhook(base, client_key, receiver.url)
        wait_until(lambda: receiver.bodies, 60, "the worker to deliver the webhook")
        # beat takes its title once it has loaded the app, which on a busy machine can come
        # after the worker delivered.
        running = wait_until(lambda: titled_processes(honcho), 30, f"processes titled {TITLES}")

        # Ctrl-C: SIGINT to honcho. Its subreaper exits once every descendant has, orphans too.
        honcho.send_signal(signal.SIGINT)
        honcho.wait(timeout=30)
    receiver.close()

    log = honcho_log.read_text()
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    assert all(title in running for title in TITLES)
    [delivered] = receiver.bodies
    assert json.dumps(delivered).count("Hello honcho") >= 1
    # Each shut down on honcho's SIGTERM, the worker on the filesystem broker too, within the
    # 5 s honcho waits before it kills what is left.
    for name in procfile_names():
        assert f"{name}.1 stopped (rc=0)" in log


def test_make_run_starts_the_procfile_with_honcho_after_creating_the_database():
    dry_run = subprocess.run(
        ["make", "-n", "run"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout

    create, upgrade, honcho = (
        dry_run.index("manage.py db create"),
        dry_run.index("manage.py db upgrade"),
        dry_run.index("honcho start"),
    )
    assert create < upgrade < honcho
