"""`python manage.py deploy`: replace the running gunicorn master with USR2, and wait to see the
new master's workers answer and the old master gone; or the deploy fail with the old master
still serving, and why."""

import contextlib
import json
import os
import runpy
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from .hooks import error_report_path
from .processes import (
    children,
    is_alive,
    is_master,
    master_title,
    parent_pid,
    process_title,
    read_pidfile,
    worker_title,
    working_directory,
)

DEPLOYED = 0
FAILED = 1  # the new release did not take over; the old master keeps serving
REFUSED = 2  # nothing was sent
UNSETTLED = 3  # not settled in time, or not as expected: look before acting again

# Seconds for a new master to show up after USR2 (it only has to start Python and gunicorn).
NEW_MASTER_APPEARS_WITHIN = 15.0
POLL_SECONDS = 0.1
# Seconds without any live master in the pidfiles before the deploy is called a failure.
NO_MASTER_GRACE = 5.0


@dataclass(frozen=True)
class Health:
    """What GET /healthz answered."""

    version: str
    pid: int


@dataclass(frozen=True)
class Target:
    """The running service: its pidfile, its masters' process name, its /healthz, the wait."""

    pidfile: str
    proc_name: str
    health_url: str
    timeout: float

    @classmethod
    def from_gunicorn_config(
        cls,
        config_path: str,
        pidfile: str | None = None,
        health_url: str | None = None,
        timeout: float | None = None,
    ) -> "Target":
        """The target gunicorn.conf.py describes (read in this process's environment)."""
        settings = runpy.run_path(config_path)
        if timeout is None:
            # Time to load the app (the hooks give up after 2 x timeout), then for the old
            # workers to finish their requests.
            timeout = 2 * settings["timeout"] + settings["graceful_timeout"] + 30
        return cls(
            pidfile=os.path.abspath(pidfile or settings["pidfile"]),
            proc_name=settings["proc_name"],
            health_url=health_url or health_url_for(settings["bind"]),
            timeout=timeout,
        )


def health_url_for(bind: str | list[str]) -> str:
    """The /healthz URL of gunicorn's first `bind` address."""
    address = bind[0] if isinstance(bind, list) else bind
    if address.startswith(("unix:", "fd://")):
        raise ValueError(f"cannot reach /healthz on {address!r}: give the URL")
    host, _, port = address.rpartition(":")
    if host in {"", "0.0.0.0", "[::]"}:
        host = "127.0.0.1"
    return f"http://{host}:{port}/healthz"


def get_health(url: str) -> Health | None:
    """What /healthz answers now; None when it does not answer 200 with a version and pid."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.load(response)
        return Health(version=str(body["version"]), pid=int(body["pid"]))
    except (OSError, ValueError, KeyError, TypeError, urllib.error.URLError):
        return None


def remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def read_report(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as report:
            return report.read().strip() or None
    except FileNotFoundError:
        return None


def master_in_the_making(old_pid: int, proc_name: str) -> bool:
    """The old master has a child that is not one of its workers: the new master starting."""
    workers = {worker_title(proc_name), worker_title(proc_name + ".2")}
    return any(process_title(child) not in workers for child in children(old_pid))


def deploy(target: Target, expect_version: str | None = None, say: Callable = print) -> int:
    """Send USR2 to the running master and follow the deploy to its end; returns the exit
    status (DEPLOYED, FAILED, REFUSED or UNSETTLED) after saying what happened."""
    pidfile, proc_name = target.pidfile, target.proc_name
    pending_pidfile = pidfile + ".2"
    report_path = error_report_path(pidfile)

    old = read_pidfile(pidfile)
    if old is None:
        say(
            f"deploy refused: no pid in {pidfile}; is gunicorn running with this pidfile? "
            "(in a releases layout, GUNICORN_PIDFILE must name a file outside the releases)"
        )
        return REFUSED
    if not is_master(old, proc_name):
        say(
            f"deploy refused: pid {old} in {pidfile} is not a running "
            f"{master_title(proc_name)!r} (a stale pidfile?)"
        )
        return REFUSED
    pending = read_pidfile(pending_pidfile)
    if pending is not None and is_alive(pending):
        say(
            f"deploy refused: the new master {pending} of a deploy in progress has not taken "
            "over yet (gunicorn ignores USR2 until it has)"
        )
        return REFUSED
    if pending is not None:
        remove(pending_pidfile)  # left by a new master that died; gunicorn would overwrite it
    remove(report_path)

    old_directory = working_directory(old)
    os.kill(old, signal.SIGUSR2)
    say(f"sent USR2 to the master {old} (running in {old_directory})")

    started = time.monotonic()
    new = None
    while time.monotonic() - started < target.timeout:
        if new is None:
            candidate = read_pidfile(pending_pidfile) or read_pidfile(pidfile)
            if candidate not in (None, old) and is_alive(candidate):
                new = candidate
        if not is_master(old, proc_name):
            return settle(target, old, old_directory, expect_version, say)
        if new is not None and not is_alive(new):
            reason = read_report(report_path) or (
                f"the new master {new} exited before all its workers loaded the app"
            )
            return failed(target, old, reason, say)
        # No new master: the re-exec was refused (the report says why) or did not start.
        overdue = time.monotonic() - started > NEW_MASTER_APPEARS_WITHIN
        given_up = overdue or os.path.exists(report_path)
        if new is None and given_up and not master_in_the_making(old, proc_name):
            reason = read_report(report_path) or (
                f"no new master started within {NEW_MASTER_APPEARS_WITHIN:.0f} s "
                "(gunicorn.conf.py of the new release failing? gunicorn ignoring USR2?)"
            )
            return failed(target, old, reason, say)
        time.sleep(POLL_SECONDS)
    say(
        f"deploy unsettled after {target.timeout:.0f} s: the old master {old} is still up"
        + (f", the new master {new} too" if new and is_alive(new) else "")
        + "; see gunicorn's error log"
    )
    return UNSETTLED


def failed(target: Target, old: int, reason: str, say: Callable) -> int:
    now = get_health(target.health_url)
    serving = f"version {now.version}" if now else "but /healthz does not answer"
    say(f"deploy failed: {reason}")
    say(f"the old master {old} keeps serving ({serving}); details in gunicorn's error log")
    return FAILED


def settle(
    target: Target, old: int, old_directory: str | None, expect_version: str | None, say: Callable
) -> int:
    """The old master is gone: wait for the new one to own the pidfile and answer /healthz."""
    started = last_master_seen = time.monotonic()
    while time.monotonic() - started < target.timeout:
        master = read_pidfile(target.pidfile)
        pending = read_pidfile(target.pidfile + ".2")
        renaming = pending is not None and is_alive(pending)
        if master not in (None, old) and not renaming and is_master(master, target.proc_name):
            last_master_seen = time.monotonic()
            answer = get_health(target.health_url)
            if answer is not None and parent_pid(answer.pid) == master:
                return deployed(master, old, old_directory, answer, expect_version, say)
        elif renaming:
            last_master_seen = time.monotonic()  # gunicorn renames <pidfile>.2 within a second
        elif time.monotonic() - last_master_seen > NO_MASTER_GRACE:
            say(f"deploy failed and the old master {old} is gone: no master in {target.pidfile}")
            return UNSETTLED
        time.sleep(POLL_SECONDS)
    say(f"deploy unsettled: the old master {old} is gone, but no new master answers as expected")
    return UNSETTLED


def deployed(
    master: int,
    old: int,
    old_directory: str | None,
    answer: Health,
    expect_version: str | None,
    say: Callable,
) -> int:
    directory = working_directory(master)
    if expect_version is not None and answer.version != expect_version:
        say(
            f"deployed, but the master {master} (in {directory}) serves version "
            f"{answer.version}, not {expect_version} (was `current` switched before?)"
        )
        return UNSETTLED
    say(
        f"deployed: the master {master} (in {directory}) serves version {answer.version}; "
        f"the old master {old} has exited"
    )
    if directory == old_directory:
        say(f"note: the old master ran in {directory} too: was `current` switched before?")
    return DEPLOYED
