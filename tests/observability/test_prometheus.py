"""deploy/prometheus and deploy/grafana, checked with Debian's promtool; and a real Prometheus
scraping a real gunicorn (2 workers) and a real Celery worker.

Without prometheus/promtool (Debian's `prometheus` package; .ci/run installs it) these tests
are skipped, except in CI.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import pytest
import requests
import yaml
from prometheus_client import REGISTRY
from sqlalchemy import create_engine

from app.extensions import db
from app.metrics import metric_names
from blueprints.clients.services import create_client
from blueprints.webhooks.metrics import OutboxCollector
from deploy.metrics import WORKERS_ALIVE, children
from tests.polling import free_port, wait_until
from tests.processes import (
    PROJECT_ROOT,
    Gunicorn,
    answers,
    conduit_environment,
    prepare_database,
    process_group,
    start,
)
from tests.webhooks.receiver import Receiver

PROMETHEUS_FOLDER = PROJECT_ROOT / "deploy" / "prometheus"
DASHBOARD = PROJECT_ROOT / "deploy" / "grafana" / "conduit.json"
# Grafana's variables, as a dashboard would expand them.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$route": ".*"}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or"}
PROMQL_WORDS |= {"unless", "bool", "offset", "inf", "nan"}


def needs_promtool(test):
    """Runs promtool (a process of its own); skipped without it, except in CI."""
    missing = shutil.which("promtool") is None and not os.environ.get("CI")
    skip = pytest.mark.skipif(missing, reason="promtool is missing (apt-get install prometheus)")
    return pytest.mark.system(skip(test))


def promtool(*arguments: str, cwd: Path = PROMETHEUS_FOLDER) -> str:
    result = subprocess.run(
        ["promtool", *arguments], cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@needs_promtool
def test_the_scrape_configuration_and_its_rules_are_valid():
    output = promtool("check", "config", "prometheus.yml")

    assert "SUCCESS: 7 rules found" in output


@needs_promtool
def test_each_alert_fires_when_its_sample_series_say_so():
    promtool("test", "rules", "alerts_test.yml")
    tests = (PROMETHEUS_FOLDER / "alerts_test.yml").read_text()
    tested = set(re.findall(r"alertname: (\w+)", tests))

    assert tested == set(alert_names())


def alert_names() -> list[str]:
    rules = yaml.safe_load((PROMETHEUS_FOLDER / "alerts.yml").read_text())
    return [rule["alert"] for group in rules["groups"] for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    expressions = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expression = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expression = expression.replace(variable, value)
            expressions.append(expression)
    return expressions


def alert_expressions() -> list[str]:
    rules = yaml.safe_load((PROMETHEUS_FOLDER / "alerts.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


@needs_promtool
def test_every_dashboard_expression_is_valid_promql(tmp_path):
    expressions = dashboard_expressions()
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:panel_{number}", "expr": expression}
                    for number, expression in enumerate(expressions)
                ],
            }
        ]
    }
    (tmp_path / "dashboard.yml").write_text(yaml.safe_dump(rules))

    output = promtool("check", "rules", "dashboard.yml", cwd=tmp_path)

    assert f"SUCCESS: {len(expressions)} rules found" in output


def metrics_used(expression: str) -> set[str]:
    """The metric names an expression reads: identifiers outside label matchers, ranges,
    strings and grouping clauses, that are not functions or keywords."""
    expression = re.sub(r'"[^"]*"', "", expression)
    expression = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", expression)
    expression = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", expression)
    names = re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", expression)
    return {name for name in names if name.lower() not in PROMQL_WORDS}


def test_dashboard_and_alerts_read_only_metrics_that_exist(app):
    exposed = metric_names([REGISTRY, OutboxCollector(app)]) | {WORKERS_ALIVE, "up"}
    used = set()
    for expression in dashboard_expressions() + alert_expressions():
        used |= metrics_used(expression)

    assert "http_requests_total" in used
    assert "outbox_oldest_pending_age_seconds" in used
    assert sorted(used - exposed) == []


# A real Prometheus scraping the real processes.


class Prometheus:
    """Prometheus on a free port, with a configuration and storage of the test's own."""

    def __init__(self, folder: Path, targets: dict[str, str], group) -> None:
        self.port = free_port()
        config = {
            # Scraped 4 times a second: each wait for a new count is a quarter of a second.
            "global": {"scrape_interval": "250ms", "evaluation_interval": "250ms"},
            "rule_files": [str(PROMETHEUS_FOLDER / "alerts.yml")],
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": [target]}]}
                for job, target in targets.items()
            ],
        }
        (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.process = start(
            [
                shutil.which("prometheus") or "/usr/bin/prometheus",
                f"--config.file={folder / 'prometheus.yml'}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            dict(os.environ),
            folder / "prometheus.log",
            group,
        )
        wait_until(lambda: answers(f"{self.url}/-/ready"), 30, "Prometheus to be ready")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def query(self, expression: str) -> dict[tuple, float]:
        """An instant query: {labels (sorted items): value}."""
        answer = requests.get(f"{self.url}/api/v1/query", params={"query": expression}, timeout=5)
        answer.raise_for_status()
        return {
            tuple(sorted(series["metric"].items())): float(series["value"][1])
            for series in answer.json()["data"]["result"]
        }

    def value(self, expression: str) -> float | None:
        result = self.query(expression)
        return next(iter(result.values())) if len(result) == 1 else None


def served_pids(port: int, count: int, clients: int = 4) -> list[int]:
    """GET /healthz `count` times from `clients` threads, each request on a new connection;
    the pid of the worker that answered each request answered 200."""
    pids: list[int] = []
    numbers = iter(range(count))
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                if next(numbers, None) is None:
                    return
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            except requests.RequestException:
                continue
            if answer.status_code == 200:
                with lock:
                    pids.append(answer.json()["pid"])

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return pids


def created_client_key(app, database_url: str) -> str:
    """A client created in the database `database_url` by this process, as `manage.py
    create-client` would create it (without a process that loads the app); its key."""
    engine = create_engine(database_url)
    with app.app_context():
        engines = db.engines
        own = engines[None]
        engines[None] = engine  # type: ignore[index]
        try:
            _, key = create_client("prometheus-test")
            db.session.commit()
        finally:
            db.session.remove()
            engines[None] = own  # type: ignore[index]
            engine.dispose()
    return key


def workers_alive(port: int) -> float | None:
    """gunicorn_workers_alive as the master serves it right now."""
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    found = re.search(rf"^{WORKERS_ALIVE} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else None


@pytest.mark.system
@pytest.mark.skipif(
    shutil.which("prometheus") is None and not os.environ.get("CI"),
    reason="prometheus is missing (apt-get install prometheus)",
)
def test_prometheus_sums_the_request_counter_over_gunicorn_workers_and_scrapes_the_worker(
    app, tmp_path
):
    web_metrics, worker_metrics = free_port(), free_port()
    environ = conduit_environment(
        tmp_path,
        GUNICORN_ACCESSLOG="/dev/null",
        METRICS_BIND=f"127.0.0.1:{web_metrics}",
        WORKER_METRICS_BIND=f"127.0.0.1:{worker_metrics}",
        WEBHOOK_ALLOW_PRIVATE_TARGETS="1",
    )
    prepare_database(environ)
    key = created_client_key(app, environ["TEST_DATABASE_URL"])
    receiver = Receiver()
    with process_group() as group:
        # All three start at once; Prometheus finds its targets up once they have loaded.
        gunicorn = Gunicorn(environ, tmp_path / "web.log", workers=2)
        web_port = gunicorn.port
        group.append(gunicorn.start(ready=None))
        start(
            ["celery", "-A", "app.worker", "worker", "--pool=threads", "--concurrency=2"],
            environ,
            tmp_path / "worker.log",
            group,
        )
        prometheus = Prometheus(
            tmp_path,
            {
                "conduit-web": f"127.0.0.1:{web_metrics}",
                "conduit-worker": f"127.0.0.1:{worker_metrics}",
            },
            group,
        )
        gunicorn.wait_ready("/readyz")
        wait_until(lambda: answers(f"http://127.0.0.1:{worker_metrics}/metrics"), 60, "worker")
        wait_until(lambda: prometheus.value("sum(up)") == 2, 30, "both targets to be up")

        # Requests spread over the two workers; the counter Prometheus sees is their sum.
        sent = 60
        pids = served_pids(web_port, sent)
        assert len(pids) == sent
        healthz_total = 'sum(http_requests_total{route="/healthz",status="200"})'
        wait_until(lambda: prometheus.value(healthz_total) == sent, 30, f"{sent} requests")
        print(f"{sent} requests answered by workers {sorted(set(pids))}:", end=" ")
        print({pid: pids.count(pid) for pid in set(pids)}, "; Prometheus:", sent)
        assert prometheus.value(f"sum({WORKERS_ALIVE})") == 2
        assert prometheus.query('process_resident_memory_bytes{job="conduit-web"}')

        # A worker killed: the master replaces it, its counts stay, it is no longer alive.
        master = int((tmp_path / "gunicorn.pid").read_text())
        os.kill(pids[0], signal.SIGKILL)
        wait_until(
            lambda: (
                pids[0] not in children(master)
                and len(children(master)) == 2
                and workers_alive(web_metrics) == 2
            ),
            30,
            "the master to replace the killed worker",
        )
        later = served_pids(web_port, 20)
        total = sent + len(later)
        wait_until(lambda: prometheus.value(healthz_total) == total, 30, f"{total} requests")
        wait_until(lambda: prometheus.value(f"sum({WORKERS_ALIVE})") == 2, 10, "2 workers alive")
        print(f"after a worker was killed: {total} requests, Prometheus: {total}")

        # The worker: a ping delivered to a receiver, counted as a task and as a delivery.
        headers = {"X-Client-Key": key}
        webhook = requests.post(
            f"http://127.0.0.1:{web_port}/api/webhooks",
            json={"webhook": {"url": receiver.url("/ping"), "events": ["article.created"]}},
            headers=headers,
            timeout=10,
        ).json()["webhook"]
        ping = f"http://127.0.0.1:{web_port}/api/webhooks/{webhook['id']}/ping"
        assert requests.post(ping, headers=headers, timeout=10).status_code == 202
        receiver.wait_for("/ping", timeout=30)
        delivered = 'sum(webhook_deliveries_total{job="conduit-worker",outcome="delivered"})'
        wait_until(lambda: prometheus.value(delivered) == 1, 30, "the delivery to be counted")
        # The task is counted once it has returned, after the delivery it made: a scrape may
        # fall between the two.
        tasks = 'tasks_total{job="conduit-worker",task="webhooks.deliver",state="success"}'
        wait_until(lambda: prometheus.value(tasks) == 1, 30, "the task to be counted")
        pending = 'outbox_pending{job="conduit-worker"}'
        wait_until(lambda: prometheus.value(pending) == 0, 30, "the outbox to be empty")
        assert prometheus.value("sum(conduit_build_info)") == 2  # web and worker
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(timeout=30)
    receiver.close()
