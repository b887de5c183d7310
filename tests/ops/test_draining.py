"""Draining, for real: after TERM a gunicorn with GUNICORN_DRAIN_SECONDS answers /readyz with
503 at once, goes on serving every other request for that long (a load balancer takes it out
of rotation meanwhile), then stops."""

import signal
import time

import pytest
import requests

from tests.polling import free_port, wait_until
from tests.processes import answers, conduit_environment, prepare_database, process_group, start

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
