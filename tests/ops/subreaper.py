"""Run a command as a child subreaper: every process it starts stays below us, even one whose
parent exited (an orphan), so a test can see it and wait for it. SIGINT, SIGTERM and SIGQUIT
are passed on to the command. Exits, with the command's status, once every descendant exited.

    python tests/ops/subreaper.py COMMAND [ARGS...]
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
    command = subprocess.Popen(sys.argv[1:])

    def pass_on(signum, frame):
        if command.returncode is None:
            command.send_signal(signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
        signal.signal(signum, pass_on)
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
