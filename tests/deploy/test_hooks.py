"""The deploy hooks' decisions, on real processes: whom they signal, when a master takes over,
what they tell systemd and what they report when a worker cannot load the app."""

import logging
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from deploy import systemd
from deploy.hooks import (
    BootCount,
    Takeover,
    describe_failure,
    error_report_path,
    old_master_refusal,
    re_exec_from,
    retire_old_master,
    worker_exit,
)
from tests.polling import wait_until

from .conftest import MASTER_TITLE


@pytest.fixture
def notify_socket(tmp_path, monkeypatch):
    """A datagram socket standing in for systemd, named by NOTIFY_SOCKET."""
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind(address)
        receiver.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", address)
        yield receiver


def fake_server(tmp_path, workers=2, master_pid=0, live_workers=(101, 102)):
    """What the hooks read of gunicorn's Arbiter."""
    return SimpleNamespace(
        pid=os.getpid(),
        master_pid=master_pid,
        WORKERS=dict.fromkeys(live_workers),
        WORKER_BOOT_ERROR=3,
        APP_LOAD_ERROR=4,
        START_CTX={"cwd": str(tmp_path / "releases" / "gone"), 0: sys.executable, "args": []},
        cfg=SimpleNamespace(
            workers=workers,
            timeout=30,
            proc_name="conduit",
            pidfile=str(tmp_path / "gunicorn.pid"),
        ),
        log=logging.getLogger("test.deploy"),
    )


@pytest.mark.system
def test_the_old_master_is_sent_term_by_the_master_it_started(fake_process):
    retire_parent = (
        "import os; from deploy.hooks import retire_old_master; "
        "print(f'refusal: {retire_old_master(os.getppid(), \"conduit\")}', flush=True)"
    )
    old_master = fake_process(MASTER_TITLE, retire_parent)

    output, _ = old_master.communicate(timeout=30)

    assert "TERM" in output
    assert "refusal: None" in output
    assert old_master.returncode == 0


@pytest.mark.system
def test_a_master_that_did_not_start_this_process_is_not_signalled(fake_process):
    other_master = fake_process(MASTER_TITLE)

    refusal = retire_old_master(other_master.pid, "conduit")

    assert refusal == (
        f"pid {other_master.pid} is not the master that started this one "
        f"(our parent is {os.getppid()})"
    )
    assert other_master.poll() is None


@pytest.mark.system
def test_a_process_of_another_title_is_not_signalled(fake_process):
    stranger = fake_process("postgres: checkpointer")

    refusal = retire_old_master(stranger.pid, "conduit")

    assert refusal == f"pid {stranger.pid} is 'postgres: checkpointer', not '{MASTER_TITLE}'"
    assert stranger.poll() is None


@pytest.mark.system
def test_another_apps_master_is_not_signalled(fake_process):
    other_app = fake_process("gunicorn: master [billing]")

    assert "not 'gunicorn: master [conduit]'" in retire_old_master(other_app.pid, "conduit")
    assert other_app.poll() is None


@pytest.mark.system
def test_a_stale_pid_is_not_signalled():
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    stale_pid = int(finished.stdout)

    assert retire_old_master(stale_pid, "conduit") == (
        f"no process {stale_pid} is running (a stale pid)"
    )


def test_the_master_never_signals_itself():
    # Were TERM sent, this test process would end here.
    assert retire_old_master(os.getpid(), "conduit") == f"pid {os.getpid()} is this master itself"


@pytest.mark.parametrize("pid", [0, -1, 1])
def test_no_pid_that_names_a_process_group_or_init_is_signalled(pid):
    assert old_master_refusal(pid, "conduit") == f"{pid} is not the pid of an old master"


def test_the_boot_count_waits_for_every_worker_to_load_the_app():
    count = BootCount(expected=2)

    assert count.add(101, live_workers=[101, 102]) is False
    assert count.add(102, live_workers=[101, 102]) is True


def test_a_worker_that_loaded_and_died_does_not_count():
    count = BootCount(expected=2)
    count.add(101, live_workers=[101, 102])

    assert count.add(102, live_workers=[102, 103]) is False
    assert count.add(103, live_workers=[102, 103]) is True


def test_a_fresh_master_tells_systemd_once_all_its_workers_loaded_the_app(tmp_path, notify_socket):
    takeover = Takeover(fake_server(tmp_path))

    takeover.worker_loaded(101)
    notify_socket.settimeout(0.2)
    with pytest.raises(TimeoutError):
        notify_socket.recv(4096)
    takeover.worker_loaded(102)

    notify_socket.settimeout(5)
    message = notify_socket.recv(4096).decode()
    assert message.splitlines()[:2] == [f"MAINPID={os.getpid()}", "READY=1"]


def test_notify_sends_one_datagram_to_the_socket_systemd_names(notify_socket):
    assert systemd.notify("MAINPID=42\nREADY=1") is True

    assert notify_socket.recv(4096) == b"MAINPID=42\nREADY=1"


def test_notify_reaches_an_abstract_socket(monkeypatch):
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        name = f"conduit-test-{os.getpid()}"
        receiver.bind("\0" + name)
        receiver.settimeout(5)

        assert systemd.notify("READY=1", environ={"NOTIFY_SOCKET": "@" + name}) is True
        assert receiver.recv(4096) == b"READY=1"


def test_notify_does_nothing_outside_systemd():
    assert systemd.notify("READY=1", environ={}) is False


def test_notify_fails_loudly_when_systemd_does_not_listen(tmp_path):
    with pytest.raises(OSError):
        systemd.notify("READY=1", environ={"NOTIFY_SOCKET": str(tmp_path / "nobody.sock")})


def failing_worker_exit(server, worker, error):
    """Run worker_exit the way gunicorn does: in `finally`, after sys.exit(3) in `except`."""
    with pytest.raises(SystemExit):
        try:
            try:
                raise error
            except Exception:
                sys.exit(server.WORKER_BOOT_ERROR)
        finally:
            worker_exit(server, worker)


def test_a_worker_of_a_new_master_that_cannot_load_the_app_reports_why(tmp_path):
    server = fake_server(tmp_path, master_pid=12345)

    failing_worker_exit(server, SimpleNamespace(booted=False), RuntimeError("no such table"))

    report = Path(error_report_path(server.cfg.pidfile)).read_text()
    assert report.startswith(f"a worker of the new master {server.pid} could not load the app: ")
    assert "RuntimeError: no such table (" in report
    assert "test_hooks.py:" in report


def test_a_worker_that_had_loaded_the_app_reports_nothing(tmp_path):
    server = fake_server(tmp_path, master_pid=12345)

    failing_worker_exit(server, SimpleNamespace(booted=True), RuntimeError("later"))

    assert not os.path.exists(error_report_path(server.cfg.pidfile))


def test_a_syntax_error_is_described_with_its_file_and_line():
    with pytest.raises(SyntaxError) as raised:
        compile("def broken(:\n", "/srv/conduit/releases/2/app/views.py", "exec")

    described = describe_failure(raised.value)

    assert described.startswith("SyntaxError: ")
    assert described.endswith("(/srv/conduit/releases/2/app/views.py:1)")


def test_usr2_re_executes_from_the_current_symlink(tmp_path):
    server = fake_server(tmp_path)
    current = tmp_path / "current"
    current.symlink_to(tmp_path)

    re_exec_from(str(current))(server)

    assert server.START_CTX["cwd"] == str(current)


def test_usr2_is_not_carried_out_when_its_directory_is_gone(tmp_path):
    server = fake_server(tmp_path)  # neither the old release nor `current` exists
    child = os.fork()
    if child == 0:  # the old master's child, where gunicorn calls pre_exec
        try:
            re_exec_from(str(tmp_path / "current"))(server)
        finally:
            os._exit(0)

    _, status = os.waitpid(child, 0)

    assert os.waitstatus_to_exitcode(status) == 1
    report = Path(error_report_path(server.cfg.pidfile)).read_text()
    assert report.startswith(f"USR2 not carried out: directory {tmp_path}/releases/gone is gone")


@pytest.mark.system
def test_a_new_master_that_cannot_tell_systemd_keeps_the_old_master(tmp_path, fake_process):
    pidfile = tmp_path / "gunicorn.pid"
    new_master = f"""
import logging, os
from types import SimpleNamespace
from deploy.hooks import Takeover

os.environ["NOTIFY_SOCKET"] = {str(tmp_path / "nobody-listens.sock")!r}
server = SimpleNamespace(
    pid=os.getpid(), master_pid=os.getppid(), WORKERS=dict.fromkeys([101, 102]),
    cfg=SimpleNamespace(workers=2, timeout=30, proc_name="conduit", pidfile={str(pidfile)!r}),
    log=logging.getLogger("new-master"),
)
takeover = Takeover(server)
takeover.worker_loaded(101)
takeover.worker_loaded(102)  # gives up: TERM to itself, not to its parent
"""
    old_master = fake_process(MASTER_TITLE, new_master)

    report = Path(error_report_path(str(pidfile)))
    wait_until(report.exists, 30, "the new master's report")
    assert report.read_text().startswith(
        "deploy abandoned: could not tell systemd that the new master "
    )
    assert old_master.poll() is None
