"""Deploys of a real gunicorn (the project's gunicorn.conf.py, 2 workers) under load: USR2
through `python manage.py deploy`, from a releases layout switched with its `current` link."""

import itertools
import time

import pytest

from deploy.processes import read_pidfile
from tests.polling import wait_until

from .harness import PAUSE_SECONDS, Load, NotifySocket, Server
from .slow_app import SLOW_PATH, SLOW_SECONDS

pytestmark = pytest.mark.system

DEPLOYS = 2  # the second replaces a master that a USR2 started
LOAD = {"/healthz": 8, SLOW_PATH: 2}


@pytest.fixture
def systemd():
    notify_socket = NotifySocket()
    yield notify_socket
    notify_socket.close()


def failures(answers):
    return [answer for answer in answers if not answer.ok]


def test_deploys_under_load_fail_no_request_and_serve_each_new_version(releases, systemd):
    with Server(releases, notify_socket=systemd.address) as server:
        masters = [server.master()]
        deploys = []  # (version, when USR2 went out, when the deploy command returned)
        with Load(server.port, LOAD, pause=PAUSE_SECONDS) as load:
            wait_until(lambda: load.answers, 30, "the load to get going")
            for number in range(1, DEPLOYS + 1):
                version = f"1.0.{number}"
                releases.add(version)
                releases.switch(version)
                sent = time.monotonic()
                result = server.deploy("--expect-version", version)
                assert result.returncode == 0, result.stdout + result.stderr + server.tail()
                deploys.append((version, sent, time.monotonic()))
                print(f"deploy of {version}: {deploys[-1][2] - sent:.1f} s")
                masters.append(server.master())
            answers = load.stop()

        assert failures(answers) == []
        slow = [answer for answer in answers if answer.path == SLOW_PATH]
        assert all(answer.seconds >= SLOW_SECONDS for answer in slow)
        assert len(slow) >= 2 * DEPLOYS

        # Once a deploy is done, no request gets an older version; each version was served.
        versions = ["1.0.0"] + [version for version, _, _ in deploys]
        for number, (_, _, done) in enumerate(deploys, start=1):
            older = [a for a in answers if a.started >= done and versions.index(a.version) < number]
            assert older == []
        assert {answer.version for answer in answers} == set(versions)

        # Slow requests that old workers were serving when the new version came in finished.
        finished_on_old_workers = 0
        for old_version, new_version in itertools.pairwise(versions):
            new_from = min(a.started for a in answers if a.version == new_version)
            finished_on_old_workers += sum(
                1 for a in slow if a.version == old_version and a.ended > new_from
            )
        assert finished_on_old_workers >= 1

        assert len(set(masters)) == DEPLOYS + 1
        assert server.masters() == [masters[-1]]
        assert read_pidfile(server.pidfile) == masters[-1]
        assert not server.pidfile.with_name("gunicorn.pid.2").exists()
        # Each master told systemd it is the main process once all its workers loaded the app.
        wait_until(lambda: systemd.main_pids() == masters, 10, "MAINPID of every master")
        # The access log carries the request id the app echoed.
        logged = server.access_log.read_text()
        assert all(f"request_id={a.request_id} " in logged for a in answers[:50])
