"""Metrics through a USR2 deploy of a real gunicorn (releases layout): the new master serves
on the same METRICS_BIND beside the old one, the request counter goes on from where it was, and
only the new release's worker counts as alive. One worker per master: the old master's worker
alive still would make 2 (test_prometheus.py sums the counts of 2 workers)."""

import re

import pytest
import requests

from tests.deploy.harness import Releases, Server, send
from tests.polling import free_port, wait_until

HEALTHZ = r'http_requests_total\{method="GET",route="/healthz",status="200"\} (\S+)'


def scrape(port: int) -> str:
    return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text


def value(pattern: str, text: str) -> float | None:
    found = re.search(f"^{pattern}$", text, re.MULTILINE)
    return float(found.group(1)) if found else None


@pytest.mark.system
def test_a_deploy_keeps_the_counts_and_the_metrics_listener(tmp_path):
    releases = Releases(tmp_path)
    releases.add("1.0.0")
    releases.switch("1.0.0")
    metrics_port = free_port()
    server = Server(releases, workers=1)
    server.environ["METRICS_BIND"] = f"127.0.0.1:{metrics_port}"
    with server:
        for number in range(10):
            assert send(server.port, "/healthz", f"before-{number}").ok
        # Each worker writes its counts at most WRITE_SECONDS after its requests.
        wait_until(lambda: (value(HEALTHZ, scrape(metrics_port)) or 0) >= 10, 10, "10 counted")
        before = value(HEALTHZ, scrape(metrics_port))

        releases.add("2.0.0")
        releases.switch("2.0.0")
        result = server.deploy("--expect-version", "2.0.0")
        assert result.returncode == 0, result.stdout + result.stderr + server.tail()
        for number in range(5):
            assert send(server.port, "/healthz", f"after-{number}").ok

        wait_until(lambda: value(HEALTHZ, scrape(metrics_port)) >= before + 5, 10, "5 more counted")
        assert "Metrics not served" not in server.tail(100_000)
        wait_until(
            lambda: value(r"gunicorn_workers_alive (\S+)", scrape(metrics_port)) == 1,
            30,
            "the old worker to be marked dead",
        )
        releases_alive = re.findall(
            r'conduit_build_info\{release="([^"]+)"\} 1', scrape(metrics_port)
        )
        assert releases_alive == ["2.0.0"]
