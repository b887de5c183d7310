"""Run a command as a child subreaper, the way systemd runs a service: every process it starts
stays below us, even one whose parent exited (an orphan, a gunicorn master that a deploy
started), so a test can see it, and it is reaped at once instead of lingering as a zombie of an
init that does not reap (as on these test machines). SIGINT, SIGTERM and SIGQUIT are passed on
to our children (the command, or the orphans it left). Exits, with the command's status, once
every descendant exited.

    python tests/subreaper.py COMMAND [ARGS...]
"""

import ctypes
import os
import signal
import subprocess
import sys
from contextlib import suppress
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36


def children() -> list[int]:
    """Our live children (orphans reparented to us included)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError, IndexError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if fields[0] != "Z" and int(fields[1]) == os.getpid():
                    found.append(int(entry.name))
    return found


def pass_on(signum: int, frame: object) -> None:
    for child in children():
        with suppress(ProcessLookupError):
            os.kill(child, signum)


def main() -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")
    # A handler, unlike SIG_IGN, is not inherited by the command: a signal to the whole group
    # does not end the reaper before the processes it reaps.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
        signal.signal(signum, pass_on)
    command = subprocess.Popen(sys.argv[1:])
    status = 0
    while True:
        try:
            pid, wait_status = os.wait()
        except ChildProcessError:
            return status
        if pid == command.pid:
            command.returncode = status = os.waitstatus_to_exitcode(wait_status)


if __name__ == "__main__":
    sys.exit(main())
