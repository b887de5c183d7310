"""`manage.py deploy` before it sends anything: what it reads from gunicorn.conf.py, and when it
refuses (a USR2 sent to the wrong process would end it: Python's default for USR2)."""

import subprocess
import sys

import pytest

from deploy.command import REFUSED, Target, deploy, health_url_for

from .conftest import MASTER_TITLE
from .harness import PROJECT_ROOT


@pytest.fixture
def sleeper():
    """A process that is not a gunicorn master, ended by the test."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    yield process
    process.kill()
    process.wait()


def target(tmp_path):
    return Target(
        pidfile=str(tmp_path / "gunicorn.pid"),
        proc_name="conduit",
        health_url="http://127.0.0.1:9/healthz",
        timeout=5,
    )


def test_the_target_comes_from_gunicorn_conf_in_the_services_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GUNICORN_PIDFILE", str(tmp_path / "shared" / "gunicorn.pid"))
    monkeypatch.setenv("GUNICORN_BIND", "0.0.0.0:8123")
    monkeypatch.setenv("GUNICORN_TIMEOUT", "20")
    monkeypatch.setenv("GUNICORN_GRACEFUL_TIMEOUT", "10")

    found = Target.from_gunicorn_config(str(PROJECT_ROOT / "gunicorn.conf.py"))

    assert found == Target(
        pidfile=str(tmp_path / "shared" / "gunicorn.pid"),
        proc_name="conduit",
        health_url="http://127.0.0.1:8123/healthz",
        timeout=2 * 20 + 10 + 30,
    )


def test_the_health_url_follows_the_first_bind_address():
    assert health_url_for(["10.0.0.5:80", "127.0.0.1:81"]) == "http://10.0.0.5:80/healthz"
    assert health_url_for("[::]:8000") == "http://127.0.0.1:8000/healthz"
    with pytest.raises(ValueError, match="give the URL"):
        health_url_for("unix:/run/conduit.sock")


def test_deploy_refuses_without_a_pidfile(tmp_path):
    said = []

    assert deploy(target(tmp_path), say=said.append) == REFUSED
    assert said == [
        f"deploy refused: no pid in {tmp_path}/gunicorn.pid; is gunicorn running with this "
        "pidfile? (in a releases layout, GUNICORN_PIDFILE must name a file outside the releases)"
    ]


@pytest.mark.system
def test_deploy_refuses_a_pidfile_naming_another_process(tmp_path, sleeper):
    (tmp_path / "gunicorn.pid").write_text(f"{sleeper.pid}\n")
    said = []

    assert deploy(target(tmp_path), say=said.append) == REFUSED
    assert said == [
        f"deploy refused: pid {sleeper.pid} in {tmp_path}/gunicorn.pid is not a running "
        "'gunicorn: master [conduit]' (a stale pidfile?)"
    ]
    assert sleeper.poll() is None


@pytest.mark.system
def test_deploy_refuses_while_a_new_master_has_not_taken_over(tmp_path, fake_process):
    master = fake_process(MASTER_TITLE)
    new_master = fake_process("gunicorn: master [conduit.2]")
    (tmp_path / "gunicorn.pid").write_text(f"{master.pid}\n")
    (tmp_path / "gunicorn.pid.2").write_text(f"{new_master.pid}\n")
    said = []

    assert deploy(target(tmp_path), say=said.append) == REFUSED
    assert said == [
        f"deploy refused: the new master {new_master.pid} of a deploy in progress has not "
        "taken over yet (gunicorn ignores USR2 until it has)"
    ]
    assert master.poll() is None
    assert new_master.poll() is None
