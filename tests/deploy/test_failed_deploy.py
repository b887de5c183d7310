"""A deploy whose release cannot load, under load: `python manage.py deploy` says so, the old
master keeps serving its own release (also to workers it starts later) and takes the next
deploy. Its own file: the deploy tests run in parallel (the tests of one file share a process).

One worker per master: nothing here depends on how many there are, and each one that loads the
app (at the start, after the crash, in the roll forward) costs seconds of CPU. Without slow
requests, which would hold that worker.
"""

import os
import signal

import pytest

from deploy.processes import children, read_pidfile
from tests.polling import wait_until

from .harness import PAUSE_SECONDS, Load, Server

pytestmark = pytest.mark.system


def test_a_release_that_cannot_load_leaves_the_old_master_serving(releases):
    with Server(releases, workers=1) as server:
        master = server.master()
        with Load(server.port, {"/healthz": 4}, pause=PAUSE_SECONDS) as load:
            wait_until(lambda: load.answers, 30, "the load to get going")
            releases.add_broken("1.0.1", "release 1.0.1 cannot load")
            releases.switch("1.0.1")
            result = server.deploy("--expect-version", "1.0.1")
            answers = load.stop()

        assert result.returncode == 1, result.stdout + result.stderr
        assert "deploy failed" in result.stdout
        assert "RuntimeError: release 1.0.1 cannot load" in result.stdout
        assert f"the old master {master} keeps serving (version 1.0.0)" in result.stdout
        assert [answer for answer in answers if not answer.ok] == []
        assert {answer.version for answer in answers} == {"1.0.0"}
        assert server.masters() == [master]
        assert read_pidfile(server.pidfile) == master

        # Workers the old master starts after that (here after a crash) load its own release,
        # not the broken one `current` points to.
        crashed = children(master)
        for worker in crashed:
            os.kill(worker, signal.SIGKILL)
        answer = wait_until(
            lambda: (health := server.health()) and health.pid not in crashed and health,
            30,
            f"a new worker to answer\n{server.tail()}",
        )
        assert answer.version == "1.0.0"
        assert server.masters() == [master]

        # Roll forward: the old master takes the next USR2.
        releases.add("1.0.2")
        releases.switch("1.0.2")
        result = server.deploy("--expect-version", "1.0.2")
        assert result.returncode == 0, result.stdout + result.stderr + server.tail()
        assert server.health().version == "1.0.2"
