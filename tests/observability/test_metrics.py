"""Metrics of the web app: requests by URL rule, their SQL, the token-only /metrics endpoint,
off by default; webhook attempts and the outbox backlog."""

import re

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from app.extensions import db
from app.metrics import request_metrics, start_request_timer
from blueprints.clients.services import create_client
from blueprints.webhooks.delivery import attempt_delivery
from blueprints.webhooks.models import Webhook
from blueprints.webhooks.outbox import event_body, record_delivery
from tests.factories import make_article, make_user
from tests.helpers import counted_queries
from tests.webhooks.support import sent_tasks

from .conftest import METRICS_TOKEN

BEARER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def sample(name, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scraped(client) -> dict[str, dict[tuple, float]]:
    """GET /metrics with the token, parsed: sample name -> {sorted labels: value}."""
    response = client.get("/metrics", headers=BEARER)
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    found: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for name, labels, value, *_ in family.samples:
            found.setdefault(name, {})[tuple(sorted(labels.items()))] = value
    return found


def test_requests_are_counted_by_url_rule_never_by_raw_path(metrics_client):
    author = make_user()
    article = make_article(author)
    db.session.commit()
    route = "/api/articles/<slug>"
    before = sample("http_requests_total", method="GET", route=route, status="200")
    missing = sample("http_requests_total", method="GET", route=route, status="404")
    timed = sample("http_request_duration_seconds_count", method="GET", route=route)

    assert metrics_client.get(f"/api/articles/{article.slug}").status_code == 200
    assert metrics_client.get("/api/articles/no-such-article").status_code == 404

    assert sample("http_requests_total", method="GET", route=route, status="200") == before + 1
    assert sample("http_requests_total", method="GET", route=route, status="404") == missing + 1
    assert sample("http_request_duration_seconds_count", method="GET", route=route) == timed + 2
    assert not [
        labels
        for labels in scraped(metrics_client)["http_requests_total"]
        if article.slug in str(labels) or "no-such-article" in str(labels)
    ]


def test_unknown_paths_and_methods_share_one_label_each(metrics_client):
    unmatched = sample("http_requests_total", method="GET", route="<unmatched>", status="404")
    other = sample("http_requests_total", method="OTHER", route="<unmatched>", status="405")

    assert metrics_client.get("/api/nothing/here/123").status_code == 404
    assert metrics_client.open("/api/tags", method="BREW").status_code == 405

    assert sample("http_requests_total", method="GET", route="<unmatched>", status="404") == (
        unmatched + 1
    )
    assert sample("http_requests_total", method="OTHER", route="<unmatched>", status="405") == (
        other + 1
    )


def test_each_request_observes_its_sql_statements_and_their_time(metrics_client):
    make_article(make_user(), tagList=["metrics"])
    db.session.commit()
    count = sample("db_statements_per_request_count", route="/api/tags")
    statements = sample("db_statements_per_request_sum", route="/api/tags")
    seconds = sample("db_time_seconds_sum", route="/api/tags")

    with counted_queries() as ran:
        assert metrics_client.get("/api/tags").status_code == 200

    # The request ran the test's SAVEPOINT and the tags query; the ROLLBACK TO SAVEPOINT comes
    # at teardown, after the response, and is not the request's.
    assert ran[-1].startswith("ROLLBACK TO SAVEPOINT")
    ran = ran[:-1]
    assert sample("db_statements_per_request_count", route="/api/tags") == count + 1
    assert sample("db_statements_per_request_sum", route="/api/tags") == statements + len(ran)
    assert sample("db_time_seconds_sum", route="/api/tags") > seconds


def test_deferred_writes_count_every_request_by_the_next_scrape(metrics_client, monkeypatch):
    # As under gunicorn, where each value written is a write into a file: requests are summed
    # in memory first; a scrape served by the process writes them before it reads.
    monkeypatch.setattr(request_metrics, "deferred", True)
    monkeypatch.setattr(request_metrics, "writer_pid", 0)  # its writer stops with the test
    labels = (("method", "GET"), ("route", "/api/tags"), ("status", "200"))
    before = scraped(metrics_client)["http_requests_total"].get(labels, 0.0)
    observed = sample("http_request_duration_seconds_count", method="GET", route="/api/tags")

    for _ in range(3):
        assert metrics_client.get("/api/tags").status_code == 200

    assert scraped(metrics_client)["http_requests_total"][labels] == before + 3
    assert (
        sample("http_request_duration_seconds_count", method="GET", route="/api/tags")
        == observed + 3
    )


def test_metrics_are_served_only_with_the_token_and_outside_the_api(metrics_client):
    assert metrics_client.get("/metrics").status_code == 401
    wrong = metrics_client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.get_json() == {"errors": {"Authorization": ["is missing or invalid"]}}
    assert metrics_client.get("/api/metrics", headers=BEARER).status_code == 404
    paths = metrics_client.get("/api/openapi.json").get_json()["paths"]
    assert not [path for path in paths if "metrics" in path]

    found = scraped(metrics_client)

    assert found["conduit_build_info"] == {
        (("release", metrics_client.application.config["RELEASE"]),): 1.0
    }
    assert "process_resident_memory_bytes" in found
    # A scrape is not a request of the API.
    assert not [labels for labels in found["http_requests_total"] if "/metrics" in str(labels)]


def test_metrics_are_off_unless_configured(app, client):
    assert start_request_timer not in app.before_request_funcs.get(None, [])
    before = sample("http_requests_total", method="GET", route="/healthz", status="200")

    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics", headers=BEARER).status_code == 404

    assert sample("http_requests_total", method="GET", route="/healthz", status="200") == before


def make_delivery(url, event="profile.followed"):
    client, _ = create_client("metrics test")
    webhook = Webhook(client_id=client.id, url=url, events=[event])
    db.session.add(webhook)
    db.session.flush()
    delivery = record_delivery(webhook.id, event, event_body(event, {"n": 1}))
    db.session.commit()
    sent_tasks()
    return delivery


@pytest.mark.usefixtures("private_targets")
def test_webhook_attempts_count_outcomes_lag_and_duration(receiver, app):
    url = receiver.url("/metrics-outcomes")
    receiver.script("/metrics-outcomes", 503, 410)
    retried, failed, delivered = (make_delivery(url) for _ in range(3))
    counts = {
        outcome: sample("webhook_deliveries_total", event="profile.followed", outcome=outcome)
        for outcome in ("delivered", "retry", "failed")
    }
    lags = sample("webhook_delivery_lag_seconds_count")
    attempts = sample("webhook_attempt_duration_seconds_count")

    for delivery in (retried, failed, delivered):
        attempt_delivery(delivery.message_id)

    for outcome in ("delivered", "retry", "failed"):
        assert (
            sample("webhook_deliveries_total", event="profile.followed", outcome=outcome)
            == counts[outcome] + 1
        ), outcome
    assert sample("webhook_delivery_lag_seconds_count") == lags + 1
    assert sample("webhook_attempt_duration_seconds_count") == attempts + 3


def test_the_outbox_backlog_is_read_at_scrape(metrics_client):
    empty = scraped(metrics_client)
    make_delivery("https://example.com/hook")
    make_delivery("https://example.com/hook")

    found = scraped(metrics_client)

    assert found["outbox_pending"][()] == empty["outbox_pending"][()] + 2
    assert found["outbox_oldest_pending_age_seconds"][()] >= 0
    assert re.fullmatch(r"[\d.e+-]+", str(found["outbox_oldest_pending_age_seconds"][()]))
