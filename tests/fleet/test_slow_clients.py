"""Slow clients, for real: six connections trickling their headers take the sync worker of a
gunicorn reached directly, but behind HAProxy with deploy/fleet/haproxy.cfg they never reach
it, and /healthz goes on answering."""

import re
import time

import pytest

from tests.polling import free_port, wait_until
from tests.processes import Gunicorn, answers, conduit_environment, prepare_database, process_group

from .support import Slowloris, get_status, haproxy_available, start_haproxy

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(not haproxy_available(), reason="needs haproxy"),
]

SLOW_CLIENTS = 6
# HAProxy's `timeout http-request`, shortened from 5 s; watched for longer: the slow connections
# are cut meanwhile.
HTTP_REQUEST_TIMEOUT_SECONDS = 2
WATCH_SECONDS = 3


def test_slow_clients_behind_haproxy_leave_the_workers_free(tmp_path):
    lb_port = free_port()
    environ = conduit_environment(tmp_path)
    prepare_database(environ)
    balancer = f"http://127.0.0.1:{lb_port}"
    with process_group() as group:
        gunicorn = Gunicorn(environ, tmp_path / "web.log", workers=1)
        group.append(gunicorn.start("/readyz"))
        web, web_port = gunicorn.base, gunicorn.port
        haproxy = start_haproxy(
            f"127.0.0.1:{lb_port}",
            [f"127.0.0.1:{web_port}"] * 2,
            tmp_path / "haproxy.log",
            http_request_timeout=f"{HTTP_REQUEST_TIMEOUT_SECONDS}s",
        )
        group.append(haproxy)
        wait_until(lambda: answers(f"{balancer}/healthz"), 20, "HAProxy to pass requests on")

        statuses = []
        with Slowloris("127.0.0.1", lb_port, SLOW_CLIENTS):
            give_up = time.monotonic() + WATCH_SECONDS
            while time.monotonic() < give_up:
                statuses.append(get_status(f"{balancer}/healthz", timeout=2))
        # The same six straight at gunicorn: its worker is taken, /healthz times out.
        with Slowloris("127.0.0.1", web_port, SLOW_CLIENTS):
            direct = get_status(f"{web}/healthz", timeout=2)

    assert len(statuses) > 10
    assert set(statuses) == {200}
    # HAProxy cut each of them when its head was not in after `timeout http-request`.
    assert len(re.findall(r" 408 .*<BADREQ>", haproxy.log())) == SLOW_CLIENTS
    assert direct is None
