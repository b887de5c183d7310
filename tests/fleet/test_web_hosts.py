"""Two web hosts behind HAProxy, for real: each host a network namespace with its own gunicorn,
HAProxy with deploy/fleet/haproxy.cfg in a third; one web host is killed (SIGKILL of all its
processes) while clients read through the balancer, and no GET fails.

One worker per host: HAProxy still sends each host up to two requests at a time (maxconn 2), the
second waiting in the listen backlog, which the kill resets too; each worker loads the app, at a
cost of seconds of CPU."""

import threading
import time

import pytest
import requests

from tests.polling import wait_until
from tests.processes import PROJECT_ROOT, conduit_environment, prepare_database

from .netns import Network, netns_available
from .support import get_status, haproxy_available, start_haproxy

pytestmark = [
    pytest.mark.system,
    pytest.mark.fleet,
    pytest.mark.skipif(
        not (netns_available() and haproxy_available()), reason="needs root, ip and haproxy"
    ),
]

CLIENTS = 3
SECONDS_AFTER_THE_CRASH = 4  # HAProxy marks a host down after 2 failed checks a second apart


def get_pid(url: str) -> int | None:
    try:
        return requests.get(url, timeout=2).json()["pid"]
    except (requests.RequestException, ValueError, KeyError):
        return None


def test_killing_a_web_host_fails_no_get(tmp_path):
    environ = conduit_environment(tmp_path, GUNICORN_WORKERS="1", GUNICORN_BIND="0.0.0.0:8000")
    prepare_database(environ)
    with Network() as network:
        balancer_host = network.add_host("lb", 2)
        web = [network.add_host(f"web{n}", 10 + n) for n in (1, 2)]
        for host in web:
            host_environ = {**environ, "GUNICORN_PIDFILE": str(tmp_path / f"{host.name}.pid")}
            host.start(
                ["gunicorn", "-c", "gunicorn.conf.py"],
                host_environ,
                tmp_path / f"{host.name}.log",
                cwd=PROJECT_ROOT,
            )
        start_haproxy(
            "0.0.0.0:80",
            [f"{host.address}:8000" for host in web],
            tmp_path / "haproxy.log",
            netns=balancer_host.netns,
        )
        base = f"http://{balancer_host.address}"
        # Both hosts in rotation: the balancer's answers come from the workers of each. A host's
        # processes are listed (`ip netns pids`) only for a worker not seen before.
        seen: set[int | None] = set()
        serving: set[str] = set()

        def both_hosts_serve() -> bool:
            pid = get_pid(f"{base}/healthz")
            if pid not in seen:
                seen.add(pid)
                serving.update(host.name for host in web if pid in host.pids())
            return len(serving) == len(web)

        wait_until(both_hosts_serve, 90, "both web hosts to serve through HAProxy")

        failures: list[tuple[str, int | None]] = []
        served = [0]
        stop = threading.Event()

        def read() -> None:
            while not stop.is_set():
                for path in ("/api/articles", "/api/tags", "/healthz"):
                    # A slow answer on a loaded machine is not a failure: an error or a 5xx is.
                    status = get_status(f"{base}{path}", timeout=30)
                    served[0] += 1
                    if status != 200:
                        failures.append((path, status))

        clients = [threading.Thread(target=read) for _ in range(CLIENTS)]
        for client in clients:
            client.start()
        try:
            wait_until(lambda: served[0] > 20, 30, "the clients to get going")
            web[0].crash()
            crashed_at = served[0]
            time.sleep(SECONDS_AFTER_THE_CRASH)  # load runs meanwhile: the span under test
        finally:
            stop.set()
            for client in clients:
                client.join()

    assert served[0] - crashed_at > 20
    assert failures == []
