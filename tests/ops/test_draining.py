"""Draining, for real: after TERM a gunicorn with GUNICORN_DRAIN_SECONDS answers /readyz with
503 at once, goes on serving every other request for that long (a load balancer takes it out
of rotation meanwhile), then stops. During a USR2 handover, the old master's workers drain so
while the new master's answer ready."""

import os
import re
import signal
import time

import pytest
import requests

from deploy.processes import children, is_alive, read_pidfile
from tests.polling import free_port, wait_until
from tests.processes import (
    Gunicorn,
    answers,
    conduit_environment,
    prepare_database,
    process_group,
    start,
)

DRAIN_SECONDS = 3

pytestmark = pytest.mark.system


def test_after_term_readyz_answers_503_while_requests_are_still_served(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    environ = conduit_environment(
        tmp_path,
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="1",
        GUNICORN_DRAIN_SECONDS=str(DRAIN_SECONDS),
    )
    prepare_database(environ)
    with process_group() as group:
        gunicorn = start(
            ["gunicorn", "-c", "gunicorn.conf.py"], environ, tmp_path / "web.log", group
        )
        wait_until(lambda: answers(f"{base}/readyz"), 60, "gunicorn to be ready")

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


# An access line: the request (its number in the query), the status, and the worker's pid.
ACCESS_LINE = re.compile(r'"GET /readyz\?n=(\d+) HTTP/1\.1" (\d{3}) .*worker=<?(\d+)')


def test_during_a_usr2_handover_the_old_workers_answer_503_and_the_new_ones_200(tmp_path):
    access_log = tmp_path / "access.log"
    environ = conduit_environment(
        tmp_path, GUNICORN_DRAIN_SECONDS=str(DRAIN_SECONDS), GUNICORN_ACCESSLOG=str(access_log)
    )
    prepare_database(environ)
    # One worker per master: the new master's worker loads the app once, the test is faster.
    gunicorn = Gunicorn(environ, tmp_path / "web.log", workers=1)
    with process_group() as group:
        group.append(gunicorn.start("/readyz"))
        old_master = read_pidfile(tmp_path / "gunicorn.pid")
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
