"""Fixtures of the deploy tests: stand-in processes with the titles gunicorn gives its own."""

import subprocess
import sys

import pytest

from .harness import PROJECT_ROOT, Releases

MASTER_TITLE = "gunicorn: master [conduit]"

# A stand-in process: takes the title it is given, says "TERM" and exits on SIGTERM, runs the
# Python code it is given as its child, and ends by itself after 30 s at most.
FAKE_PROCESS = """
import signal, subprocess, sys
from setproctitle import setproctitle

def on_term(signum, frame):
    print("TERM", flush=True)
    sys.exit(0)

setproctitle(sys.argv[1])
signal.signal(signal.SIGTERM, on_term)
signal.alarm(30)
print("ready", flush=True)
if len(sys.argv) > 2:
    subprocess.Popen([sys.executable, "-c", sys.argv[2]])
while True:
    signal.pause()
"""


@pytest.fixture
def fake_process():
    started = []

    def start(title, child_code=None):
        arguments = [sys.executable, "-c", FAKE_PROCESS, title]
        if child_code:
            arguments.append(child_code)
        process = subprocess.Popen(arguments, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
        started.append(process)
        assert process.stdout.readline() == "ready\n"
        return process

    yield start
    for process in started:
        process.kill()
        process.wait()


@pytest.fixture
def releases(tmp_path):
    """A releases layout with release 1.0.0 current."""
    releases = Releases(tmp_path)
    releases.add("1.0.0")
    releases.switch("1.0.0")
    return releases
