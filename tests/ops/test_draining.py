"""Draining, for real: after TERM a gunicorn with GUNICORN_DRAIN_SECONDS answers /readyz with
503 at once, goes on serving every other request for that long (a load balancer takes it out
of rotation meanwhile), then stops. During a USR2 handover, the old master's workers drain so
while the new master's answer ready.

The tests share a gunicorn of one worker: the handover leaves the new master serving, which the
TERM test then stops (each worker that loads the app costs seconds of CPU); a test that finds
none serving starts one."""

import os
import re
import signal
import time
from pathlib import Path

import pytest
import requests

from deploy.processes import children, is_alive, read_pidfile
from tests.polling import wait_until
from tests.processes import Gunicorn, answers, conduit_environment, prepare_database, process_group

DRAIN_SECONDS = 3

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def serving(tmp_path_factory):
    """A function that returns the gunicorn serving now, started if none is (the last one
    started keeps serving through a USR2: the subreaper runs the new master too)."""
    folder = tmp_path_factory.mktemp("draining")
    environ = conduit_environment(
        folder,
        GUNICORN_DRAIN_SECONDS=str(DRAIN_SECONDS),
        GUNICORN_ACCESSLOG=str(folder / "access.log"),
    )
    prepare_database(environ)
    with process_group() as group:

        def serving_gunicorn() -> Gunicorn:
            if not (group and group[-1].running()):
                gunicorn = Gunicorn(environ, folder / f"web{len(group)}.log", workers=1)
                group.append(gunicorn.start("/readyz"))
            return group[-1]

        yield serving_gunicorn


# An access line: the request (its number in the query), the status, and the worker's pid.
ACCESS_LINE = re.compile(r'"GET /readyz\?n=(\d+) HTTP/1\.1" (\d{3}) .*worker=<?(\d+)')


def test_during_a_usr2_handover_the_old_workers_answer_503_and_the_new_ones_200(serving):
    gunicorn = serving()
    access_log = Path(gunicorn.environ["GUNICORN_ACCESSLOG"])
    old_master = read_pidfile(gunicorn.environ["GUNICORN_PIDFILE"])
    old_workers = set(children(old_master))

    # The new master starts its worker; once it has loaded the app the new master sends
    # the old one TERM: its worker drains for DRAIN_SECONDS, then exits. /readyz is asked
    # all along, on the shared socket: either master's worker answers.
    os.kill(old_master, signal.SIGUSR2)
    statuses = {}
    give_up = time.monotonic() + 60 + DRAIN_SECONDS
    while any(map(is_alive, old_workers)) and time.monotonic() < give_up:
        number = len(statuses) + 1
        readiness = requests.get(f"{gunicorn.base}/readyz?n={number}", timeout=5)
        statuses[number] = readiness.status_code
        time.sleep(0.02)  # load pacing: about 40 probes a second
    assert not any(map(is_alive, old_workers)), gunicorn.tail()
    wait_until(lambda: not is_alive(old_master), 30, "the old master to exit")
    assert answers(f"{gunicorn.base}/readyz")  # the new master serves on

    answered_by = {
        int(number): (int(status), int(pid))
        for number, status, pid in ACCESS_LINE.findall(access_log.read_text())
    }
    assert {number: status for number, (status, _) in answered_by.items()} == statuses
    old = [(n, status) for n, (status, pid) in sorted(answered_by.items()) if pid in old_workers]
    new = [
        (n, status) for n, (status, pid) in sorted(answered_by.items()) if pid not in old_workers
    ]
    # The old workers were ready until their master was told to go, then never again.
    old_statuses = [status for _, status in old]
    assert 503 in old_statuses and old_statuses == sorted(old_statuses)
    # The new workers were ready from the start, also while the old ones drained beside them.
    draining_from = min(n for n, status in old if status == 503)
    assert [status for _, status in new] == [200] * len(new)
    assert any(n > draining_from for n, _ in new)


def test_after_term_readyz_answers_503_while_requests_are_still_served(serving):
    gunicorn = serving()
    base = gunicorn.base

    gunicorn.send_signal(signal.SIGTERM)  # the subreaper passes it on to the master
    termed = time.monotonic()
    wait_until(lambda: answers(f"{base}/readyz", 503), 2, "/readyz to answer 503")
    readiness = requests.get(f"{base}/readyz", timeout=2)
    served = [requests.get(f"{base}/api/tags", timeout=2).status_code for _ in range(10)]
    gunicorn.wait(timeout=DRAIN_SECONDS + 30)
    stopped_after = time.monotonic() - termed

    assert readiness.status_code == 503
    assert readiness.json() == {"errors": {"process": ["draining"]}}
    assert served == [200] * 10
    assert stopped_after >= DRAIN_SECONDS - 0.5  # it kept accepting while the balancer noticed
