"""Run a command as a child subreaper, the way systemd runs a service: a gunicorn master that
a deploy retires is reaped here at once, instead of lingering as a zombie of an init that does
not reap (as on these test machines). Exits once every descendant has exited.

    python subreaper.py COMMAND [ARGS...]
"""

import ctypes
import os
import signal
import subprocess
import sys

PR_SET_CHILD_SUBREAPER = 36


def main() -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")
    # Stopping the process group must not end the reaper before the processes it reaps; a
    # handler (unlike SIG_IGN) is not inherited by the command it runs.
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, lambda signum, frame: None)
    first = subprocess.Popen(sys.argv[1:])
    status = 0
    while True:
        try:
            pid, wait_status = os.wait()
        except ChildProcessError:
            return status
        if pid == first.pid:
            first.returncode = os.waitstatus_to_exitcode(wait_status)
            status = first.returncode


if __name__ == "__main__":
    sys.exit(main())
