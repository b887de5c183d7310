"""Delivery attempts, made in this process against a receiver on 127.0.0.1: signing, retries,
failures, disabling, the SSRF guard at delivery time, claims and the sweep."""

import json
import re
import ssl
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from freezegun import freeze_time
from standardwebhooks import Webhook as StandardWebhook

from app.extensions import db
from app.types import utcnow
from blueprints.clients.services import create_client
from blueprints.webhooks.delivery import attempt_delivery, claim, post, record, retry_delay
from blueprints.webhooks.models import Delivery, DeliveryAttempt, Webhook
from blueprints.webhooks.outbox import event_body, record_delivery
from blueprints.webhooks.tasks import (
    deliver_webhook,
    prune_deliveries,
    resume_webhook,
    sweep_deliveries,
)
from tests.webhooks.receiver import Hold, Reply, Trickle
from tests.webhooks.support import self_signed_certificate, sent_tasks

pytestmark = pytest.mark.usefixtures("private_targets")


@pytest.fixture
def path(request):
    """A receiver path of the test's own."""
    return "/" + re.sub(r"\W", "-", request.node.name)


def make_delivery(url: str, event="profile.followed", data=None) -> Delivery:
    """A webhook for `url` and one pending delivery to it, committed."""
    client, _ = create_client("delivery test")
    webhook = Webhook(client_id=client.id, url=url, events=[event])
    db.session.add(webhook)
    db.session.flush()
    delivery = record_delivery(webhook.id, event, event_body(event, data or {"n": 1}))
    db.session.commit()
    sent_tasks()
    return delivery


def refreshed(delivery: Delivery) -> Delivery:
    return db.session.get(Delivery, delivery.id, populate_existing=True)


def test_a_delivery_is_signed_as_standard_webhooks_verify_it(receiver, path):
    data = {"article": {"slug": "héllo", "title": "Ünïcode ✓"}}
    delivery = make_delivery(receiver.url(path), data=data)
    secret = db.session.get(Webhook, delivery.webhook_id).secret

    outcome = attempt_delivery(delivery.message_id)

    assert outcome.status == "delivered"
    [received] = receiver.requests(path)
    assert received.headers["content-type"] == "application/json"
    assert received.headers["webhook-id"] == delivery.message_id
    payload = StandardWebhook(secret).verify(received.body, received.headers)
    assert payload["type"] == "profile.followed"
    assert payload["data"] == data
    other_secret = StandardWebhook("whsec_" + "A" * 43 + "=")
    with pytest.raises(Exception, match="No matching signature"):
        other_secret.verify(received.body, received.headers)
    stored = refreshed(delivery)
    assert (stored.status, stored.attempts, stored.last_status_code) == ("delivered", 1, 200)
    assert stored.delivered_at is not None and stored.claimed_until is None


def test_a_tampered_body_fails_verification(receiver, path):
    delivery = make_delivery(receiver.url(path))
    secret = db.session.get(Webhook, delivery.webhook_id).secret
    attempt_delivery(delivery.message_id)
    [received] = receiver.requests(path)

    with pytest.raises(Exception, match="No matching signature"):
        StandardWebhook(secret).verify(received.body.replace(b"1", b"2"), received.headers)


@pytest.mark.parametrize("status", [500, 502, 503, 429, 408])
def test_a_server_error_or_429_is_retried_later_with_the_same_webhook_id(receiver, path, status):
    receiver.script(path, status)
    delivery = make_delivery(receiver.url(path))

    result = deliver_webhook.run(delivery.message_id)

    assert result == "pending"
    stored = refreshed(delivery)
    assert (stored.status, stored.attempts, stored.last_status_code) == ("pending", 1, status)
    assert stored.next_attempt_at > utcnow()
    [(task, arguments)] = sent_tasks()
    assert (task, arguments) == ("webhooks.deliver", [delivery.message_id])
    with freeze_time(stored.next_attempt_at + timedelta(seconds=1)):
        assert attempt_delivery(delivery.message_id).status == "delivered"
    first, second = receiver.requests(path)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.message_id
    assert refreshed(delivery).attempts == 2


def test_a_retry_is_not_attempted_before_it_is_due(receiver, path):
    receiver.script(path, 500)
    delivery = make_delivery(receiver.url(path))
    attempt_delivery(delivery.message_id)

    assert attempt_delivery(delivery.message_id).status == "skipped"
    assert len(receiver.requests(path)) == 1


def test_retry_after_is_honoured(receiver, path, app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_RETRY_BASE_SECONDS", 1)
    receiver.script(path, Reply(429, {"Retry-After": "30"}), 503)
    delivery = make_delivery(receiver.url(path))

    told = attempt_delivery(delivery.message_id)
    with freeze_time(refreshed(delivery).next_attempt_at + timedelta(seconds=1)):
        untold = attempt_delivery(delivery.message_id)

    assert told.retry_in == 30
    assert 1 <= untold.retry_in <= 2  # the second backoff step, 2 s, half of it jitter


def test_the_backoff_grows_exponentially_with_jitter_up_to_the_cap():
    for attempt in range(1, 12):
        exponential = min(600, 10 * 2 ** (attempt - 1))
        delays = {retry_delay(attempt, 10, 600) for _ in range(50)}
        assert all(exponential / 2 <= delay <= exponential for delay in delays)
        assert len(delays) > 1
    assert retry_delay(1, 10, 600, retry_after=120) >= 120
    assert retry_delay(1, 10, 600, retry_after=10_000) <= 600


@pytest.mark.parametrize("status", [400, 404, 410])
def test_a_client_error_fails_without_retry(receiver, path, status):
    receiver.script(path, status)
    delivery = make_delivery(receiver.url(path))

    outcome = attempt_delivery(delivery.message_id)

    assert outcome.status == "failed" and outcome.retry_in is None
    assert refreshed(delivery).last_status_code == status


def test_redirects_are_not_followed(receiver, path):
    receiver.script(path, Reply(302, {"Location": receiver.url(path + "/elsewhere")}))
    delivery = make_delivery(receiver.url(path))

    outcome = attempt_delivery(delivery.message_id)

    assert outcome.status == "failed"
    assert refreshed(delivery).last_status_code == 302
    assert receiver.requests(path + "/elsewhere") == []


def test_a_receiver_too_slow_to_answer_times_out_and_is_retried(receiver, path, app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_READ_TIMEOUT_SECONDS", 0.2)
    hold = Hold()
    receiver.script(path, hold)
    delivery = make_delivery(receiver.url(path))

    try:
        outcome = attempt_delivery(delivery.message_id)
    finally:
        hold.release.set()

    assert outcome.status == "pending"
    assert refreshed(delivery).last_error == "timed out"


def test_a_refused_connection_is_retried(app):
    delivery = make_delivery("http://127.0.0.1:9/closed")

    outcome = attempt_delivery(delivery.message_id)

    assert outcome.status == "pending"
    assert refreshed(delivery).last_error.startswith("connection failed:")


def test_after_the_last_attempt_a_delivery_fails_for_good(receiver, path, app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_MAX_ATTEMPTS", 2)
    receiver.script(path, 500, 500)
    delivery = make_delivery(receiver.url(path))

    attempt_delivery(delivery.message_id)
    with freeze_time(refreshed(delivery).next_attempt_at + timedelta(seconds=1)):
        outcome = attempt_delivery(delivery.message_id)

    assert outcome.status == "failed"
    stored = refreshed(delivery)
    assert (stored.status, stored.attempts, stored.last_status_code) == ("failed", 2, 500)
    assert db.session.get(Webhook, delivery.webhook_id).consecutive_failures == 1


def test_too_many_failed_deliveries_in_a_row_disable_the_webhook(receiver, path, app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_DISABLE_AFTER_FAILURES", 3)
    receiver.script(path, 410, 410, 410)
    first = make_delivery(receiver.url(path))
    webhook = db.session.get(Webhook, first.webhook_id)
    others = [record_delivery(webhook.id, "profile.followed", "{}") for _ in range(3)]
    db.session.commit()

    for delivery in [first, *others]:
        attempt_delivery(delivery.message_id)

    webhook = db.session.get(Webhook, first.webhook_id, populate_existing=True)
    assert webhook.enabled is False
    assert webhook.disabled_reason == (
        "disabled after 3 failed deliveries in a row; the last: HTTP 410"
    )
    assert len(receiver.requests(path)) == 3
    last = refreshed(others[-1])
    assert (last.status, last.attempts, last.last_error) == ("failed", 0, "webhook is disabled")


def test_a_success_resets_the_run_of_failures(receiver, path):
    receiver.script(path, 410)
    first = make_delivery(receiver.url(path))
    webhook = db.session.get(Webhook, first.webhook_id)
    second = record_delivery(webhook.id, "profile.followed", "{}")
    db.session.commit()

    attempt_delivery(first.message_id)
    assert db.session.get(Webhook, webhook.id, populate_existing=True).consecutive_failures == 1
    attempt_delivery(second.message_id)

    assert db.session.get(Webhook, webhook.id, populate_existing=True).consecutive_failures == 0


def test_a_revoked_clients_deliveries_are_not_sent(receiver, path):
    delivery = make_delivery(receiver.url(path))
    db.session.get(Webhook, delivery.webhook_id).client.revoke()
    db.session.commit()

    assert attempt_delivery(delivery.message_id).status == "skipped"
    assert receiver.requests(path) == []
    assert refreshed(delivery).last_error == "client has been revoked"


def test_a_private_target_is_refused_again_at_delivery(receiver, path, app, monkeypatch):
    delivery = make_delivery(receiver.url(path))
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False)

    outcome = attempt_delivery(delivery.message_id)

    assert outcome.status == "failed"
    assert receiver.requests(path) == []
    assert refreshed(delivery).last_error == (
        "refused: host '127.0.0.1' resolves to a loopback address 127.0.0.1, which is not allowed"
    )


def test_a_host_name_that_now_resolves_to_a_private_address_is_refused(
    receiver, path, app, monkeypatch
):
    # As after DNS rebinding: a name that passed at registration now leads to 127.0.0.1.
    delivery = make_delivery(receiver.url(path).replace("127.0.0.1", "localhost"))
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False)

    outcome = attempt_delivery(delivery.message_id)

    assert outcome.status == "failed"
    assert receiver.requests(path) == []
    assert "loopback address" in refreshed(delivery).last_error


def test_a_claimed_delivery_is_not_sent_twice_until_its_claim_runs_out(receiver, path, app):
    delivery = make_delivery(receiver.url(path))

    assert claim(delivery.message_id) is not None  # a worker took it, then died
    assert attempt_delivery(delivery.message_id).status == "skipped"

    lease = app.config["WEBHOOK_DELIVERY_LEASE_SECONDS"]
    with freeze_time(utcnow() + timedelta(seconds=lease + 1)):
        assert attempt_delivery(delivery.message_id).status == "delivered"
    assert len(receiver.requests(path)) == 1
    assert refreshed(delivery).attempts == 2


def test_a_delivered_message_is_not_sent_again(receiver, path):
    delivery = make_delivery(receiver.url(path))
    attempt_delivery(delivery.message_id)

    assert attempt_delivery(delivery.message_id).status == "skipped"
    assert len(receiver.requests(path)) == 1


def test_the_sweep_hands_over_overdue_deliveries_once_per_grace_period(
    receiver, path, app, monkeypatch
):
    grace = 10
    monkeypatch.setitem(app.config, "WEBHOOK_SWEEP_GRACE_SECONDS", grace)
    delivery = make_delivery(receiver.url(path))
    in_flight = make_delivery(receiver.url(path))
    claim(in_flight.message_id)  # held for the lease (60 s): the sweep leaves it alone

    assert sweep_deliveries.run() == 0
    with freeze_time(utcnow() + timedelta(seconds=grace + 1)):
        assert sweep_deliveries.run() == 1
        assert sweep_deliveries.run() == 0
    assert sent_tasks() == [("webhooks.deliver", [delivery.message_id])]
    with freeze_time(utcnow() + timedelta(seconds=2 * grace + 2)):
        assert sweep_deliveries.run() == 1


def test_the_body_sent_is_the_body_recorded(receiver, path):
    delivery = make_delivery(receiver.url(path), data={"emoji": "🎉", "quote": '"'})

    attempt_delivery(delivery.message_id)

    [received] = receiver.requests(path)
    assert received.body == delivery.payload.encode("utf-8")
    assert json.loads(received.body)["data"] == {"emoji": "🎉", "quote": '"'}


def test_the_sweep_goes_on_batch_after_batch_until_nothing_is_overdue(
    receiver, path, app, monkeypatch
):
    monkeypatch.setattr("blueprints.webhooks.tasks.SWEEP_BATCH", 2)
    first = make_delivery(receiver.url(path))
    webhook = db.session.get(Webhook, first.webhook_id)
    others = [record_delivery(webhook.id, "profile.followed", "{}") for _ in range(4)]
    db.session.commit()
    sent_tasks()
    grace = app.config["WEBHOOK_SWEEP_GRACE_SECONDS"]

    with freeze_time(utcnow() + timedelta(seconds=grace + 1)):
        assert sweep_deliveries.run() == 5

    handed_over = {arguments[0] for _, arguments in sent_tasks()}
    assert handed_over == {d.message_id for d in [first, *others]}


@pytest.fixture
def tls_receiver(tmp_path):
    """An HTTPS server on 127.0.0.1 with a self-signed certificate (no CA vouches for it)."""
    certificate, key = self_signed_certificate(tmp_path)
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()


def test_tls_certificates_are_verified(tls_receiver):
    url, received = tls_receiver
    delivery = make_delivery(url)

    outcome = attempt_delivery(delivery.message_id)

    assert outcome.status == "pending"  # retried: the certificate may yet be fixed
    assert "CERTIFICATE_VERIFY_FAILED" in refreshed(delivery).last_error
    assert received == []


def attempts_of(delivery: Delivery) -> list[DeliveryAttempt]:
    query = db.select(DeliveryAttempt).filter_by(delivery_id=delivery.id)
    return list(db.session.scalars(query.order_by(DeliveryAttempt.id)))


def another_delivery(delivery: Delivery) -> Delivery:
    """A second pending delivery to the same webhook, committed."""
    other = record_delivery(delivery.webhook_id, "profile.followed", "{}")
    db.session.commit()
    sent_tasks()
    return other


def test_an_answer_that_trickles_is_cut_at_the_deadline(receiver, path, app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_READ_TIMEOUT_SECONDS", 0.3)  # never trips
    monkeypatch.setitem(app.config, "WEBHOOK_ATTEMPT_DEADLINE_SECONDS", 0.6)
    trickle = Trickle(interval=0.05)
    receiver.script(path, trickle)
    delivery = make_delivery(receiver.url(path))

    try:
        outcome = attempt_delivery(delivery.message_id)
    finally:
        trickle.stop.set()

    assert outcome.status == "pending"
    assert refreshed(delivery).last_error == "timed out after 0.6 s"
    [attempt] = attempts_of(delivery)
    assert 600 <= attempt.duration_ms < 1500
    assert (attempt.status_code, attempt.error) == (None, "timed out after 0.6 s")


def test_each_attempt_is_recorded_with_the_first_kib_of_the_answer(receiver, path):
    receiver.script(path, Reply(503, body=b"x" * 100_000), Reply(200, body="é".encode()))
    delivery = make_delivery(receiver.url(path))

    attempt_delivery(delivery.message_id)
    with freeze_time(refreshed(delivery).next_attempt_at + timedelta(seconds=1)):
        attempt_delivery(delivery.message_id)

    first, second = attempts_of(delivery)
    assert (first.number, first.status_code, first.response_excerpt) == (1, 503, "x" * 1024)
    assert (second.number, second.status_code, second.response_excerpt) == (2, 200, "é")
    assert first.started_at < second.started_at and first.duration_ms >= 0


def test_a_stale_attempts_late_result_is_discarded(receiver, path, app):
    delivery = make_delivery(receiver.url(path))
    stale = claim(delivery.message_id)  # then its worker stalls past the lease
    lease = app.config["WEBHOOK_DELIVERY_LEASE_SECONDS"]
    with freeze_time(utcnow() + timedelta(seconds=lease + 1)):
        assert attempt_delivery(delivery.message_id).status == "delivered"

        outcome = record(stale, post(stale))  # the stale attempt answers at last: 200 too

    assert outcome.status == "lost claim"
    stored = refreshed(delivery)
    assert (stored.status, stored.attempts) == ("delivered", 2)
    assert [a.number for a in attempts_of(delivery)] == [2, 1]  # both requests were made


def test_a_webhook_with_an_attempt_in_flight_is_busy_until_it_ends(receiver, path):
    first = make_delivery(receiver.url(path))
    second = another_delivery(first)
    taken = claim(first.message_id)

    assert attempt_delivery(second.message_id).reason == "webhook busy"
    record(taken, post(taken))
    # The end of an attempt hands over the webhook's next due delivery.
    assert deliver_webhook.run(first.message_id) == "skipped (not pending)"
    assert sent_tasks() == []
    assert deliver_webhook.run(second.message_id) == "delivered"
    assert len(receiver.requests(path)) == 2


def test_the_end_of_an_attempt_goes_on_with_the_webhooks_next_delivery(receiver, path):
    first = make_delivery(receiver.url(path))
    second = another_delivery(first)

    assert deliver_webhook.run(first.message_id) == "delivered"

    assert refreshed(second).status == "delivered"  # in the same task, its slot being free
    assert sent_tasks() == []


def test_after_a_while_the_rest_of_a_webhooks_backlog_is_handed_over(receiver, path, monkeypatch):
    monkeypatch.setattr("blueprints.webhooks.tasks.DRAIN_SECONDS", 0)
    first = make_delivery(receiver.url(path))
    second = another_delivery(first)

    assert deliver_webhook.run(first.message_id) == "delivered"

    assert refreshed(second).status == "pending"  # another thread's turn, via the broker
    assert sent_tasks() == [("webhooks.deliver", [second.message_id])]


def test_a_retryable_failure_pauses_the_whole_webhook(receiver, path, app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_RETRY_BASE_SECONDS", 100)  # longer than the grace
    receiver.script(path, 503)
    first = make_delivery(receiver.url(path))
    second = another_delivery(first)

    assert deliver_webhook.run(first.message_id) == "pending"
    assert sent_tasks() == [("webhooks.deliver", [first.message_id])]  # later: the probe
    webhook = db.session.get(Webhook, first.webhook_id, populate_existing=True)
    assert webhook.failing_attempts == 1 and webhook.paused_until > utcnow()
    assert attempt_delivery(second.message_id).reason == "webhook paused"
    grace = app.config["WEBHOOK_SWEEP_GRACE_SECONDS"]
    with freeze_time(utcnow() + timedelta(seconds=grace + 1)):
        assert sweep_deliveries.run() == 0  # a paused webhook's deliveries wait

    with freeze_time(webhook.paused_until + timedelta(seconds=1)):
        assert deliver_webhook.run(first.message_id) == "delivered"  # the probe, then the rest
    assert refreshed(second).status == "delivered"
    webhook = db.session.get(Webhook, first.webhook_id, populate_existing=True)
    assert (webhook.failing_attempts, webhook.paused_until) == (0, None)


def test_a_last_attempt_that_pauses_the_webhook_resumes_it_when_the_pause_ends(
    receiver, path, app, monkeypatch
):
    monkeypatch.setitem(app.config, "WEBHOOK_MAX_ATTEMPTS", 1)
    receiver.script(path, Reply(503, {"Retry-After": "100"}))
    first = make_delivery(receiver.url(path))
    second = another_delivery(first)

    assert deliver_webhook.run(first.message_id) == "failed"

    # No retry to probe the end of the pause: a task of its own comes then.
    [(task, arguments)] = sent_tasks()
    assert (task, arguments) == ("webhooks.resume", [first.webhook_id])
    webhook = db.session.get(Webhook, first.webhook_id, populate_existing=True)
    assert webhook.paused_until > utcnow() + timedelta(seconds=99)
    assert resume_webhook.run(first.webhook_id) == 0  # too early: still paused
    with freeze_time(webhook.paused_until + timedelta(seconds=1)):
        assert resume_webhook.run(first.webhook_id) == 1
    assert sent_tasks() == [("webhooks.deliver", [second.message_id])]


def test_the_pause_grows_with_the_webhooks_run_of_failing_attempts(receiver, path, app):
    receiver.script(path, 500, 500, 500)
    deliveries = [make_delivery(receiver.url(path))]
    deliveries += [another_delivery(deliveries[0]) for _ in range(2)]
    pauses = []
    for delivery in deliveries:
        webhook = db.session.get(Webhook, delivery.webhook_id, populate_existing=True)
        with freeze_time((webhook.paused_until or utcnow()) + timedelta(seconds=1)):
            pauses.append(attempt_delivery(delivery.message_id).retry_in)

    base = app.config["WEBHOOK_RETRY_BASE_SECONDS"]
    assert [base / 2 <= pauses[0] <= base, base <= pauses[1], 2 * base <= pauses[2]] == [True] * 3


def test_the_sweep_leaves_a_busy_webhook_to_its_attempt_in_flight(receiver, path, app):
    first = make_delivery(receiver.url(path))
    second = another_delivery(first)
    claim(first.message_id)

    grace = app.config["WEBHOOK_SWEEP_GRACE_SECONDS"]
    with freeze_time(utcnow() + timedelta(seconds=grace + 1)):
        assert sweep_deliveries.run() == 0
    assert refreshed(second).status == "pending"


def test_old_deliveries_and_attempts_are_pruned_in_small_batches(receiver, path, app, monkeypatch):
    monkeypatch.setattr("blueprints.webhooks.tasks.PRUNE_BATCH", 2)
    retention = app.config["WEBHOOK_RETENTION_DAYS"]
    with freeze_time(utcnow() - timedelta(days=retention + 1)):
        old = [make_delivery(receiver.url(path)) for _ in range(3)]
        for delivery in old:
            attempt_delivery(delivery.message_id)
        still_pending = make_delivery(receiver.url(path))
    recent = make_delivery(receiver.url(path))
    attempt_delivery(recent.message_id)

    assert prune_deliveries.run() == 6  # 3 deliveries, 3 attempts

    remaining = set(db.session.scalars(db.select(Delivery.id)))
    assert remaining == {still_pending.id, recent.id}
    assert len(attempts_of(recent)) == 1
