"""`make run`'s process model: honcho starts every Procfile process on embedded defaults (SQLite,
the filesystem broker), the web process answers, and Ctrl-C stops them all, leaving nothing
behind."""

import signal
import subprocess

import requests

from .support import (
    PROJECT_ROOT,
    VENV_BIN,
    answers,
    descendants,
    free_port,
    prepare_database,
    process_environment,
    process_group,
    start,
    wait_until,
)


def procfile_names() -> list[str]:
    lines = (PROJECT_ROOT / "Procfile").read_text().splitlines()
    return [line.split(":", 1)[0].strip() for line in lines if ":" in line and line[0] != "#"]


def test_honcho_runs_every_procfile_process_and_ctrl_c_stops_them_all(tmp_path):
    port = free_port()
    empty_env_file = tmp_path / "empty.env"  # a developer's .env must not change the run
    empty_env_file.write_text("")
    honcho_log = tmp_path / "honcho.log"
    environ = process_environment(tmp_path, CONDUIT_CONFIG="development", GUNICORN_WORKERS="2")
    prepare_database(environ)
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
        running = " | ".join(descendants(honcho.pid).values())

        # Ctrl-C: SIGINT to honcho. Its subreaper exits once every descendant has, orphans too.
        honcho.send_signal(signal.SIGINT)
        honcho.wait(timeout=30)

    log = honcho_log.read_text()
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    assert "gunicorn: worker" in running and "celeryd" in running
    for name in procfile_names():
        assert f"{name}.1 stopped" in log


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
