"""Delivery addresses are checked before connecting, and URLs are logged without secrets."""

import logging
import socket

import pytest

from app.extensions import db
from blueprints.clients.services import create_client
from blueprints.webhooks.delivery import attempt_delivery
from blueprints.webhooks.models import Delivery, Webhook
from blueprints.webhooks.outbox import event_body, record_delivery
from tests.helpers import client_key_headers
from tests.webhooks.support import sent_tasks


def make_delivery(url: str) -> Delivery:
    client, _ = create_client("hardening test")
    webhook = Webhook(client_id=client.id, url=url, events=["profile.followed"])
    db.session.add(webhook)
    db.session.flush()
    delivery = record_delivery(webhook.id, "profile.followed", event_body("profile.followed", {}))
    db.session.commit()
    sent_tasks()
    return delivery


@pytest.fixture
def listener():
    """A TCP socket listening on 127.0.0.1 that never accepts: connections wait in its backlog."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield sock
    sock.close()


def connections_waiting(sock: socket.socket) -> int:
    count = 0
    while True:
        try:
            connection, _ = sock.accept()
        except BlockingIOError:
            return count
        connection.close()
        count += 1


@pytest.mark.parametrize("url", ["http://[fec0::1]/hook", "http://[fec0:1::5]:8080/hook"])
def test_site_local_ipv6_targets_are_refused(client, url):
    response = client.post(
        "/api/webhooks",
        json={"webhook": {"url": url, "events": ["article.created"]}},
        headers=client_key_headers(),
    )

    assert response.status_code == 422
    [message] = response.get_json()["errors"]["url"]
    assert "non-public address fec0:" in message


def test_a_private_address_is_refused_before_any_connection(app, listener, monkeypatch):
    port = listener.getsockname()[1]
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    open_delivery = make_delivery(f"http://localhost:{port}/hook")
    closed_delivery = make_delivery(f"http://localhost:{closed_port}/hook")
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False)

    attempt_delivery(open_delivery.message_id)
    attempt_delivery(closed_delivery.message_id)

    assert connections_waiting(listener) == 0  # no packet reached the open port
    errors = [
        db.session.get(Delivery, delivery.id, populate_existing=True).last_error
        for delivery in (open_delivery, closed_delivery)
    ]
    # An open and a closed private port read the same: nothing to learn about the network.
    assert errors[0] == errors[1].replace(str(closed_port), str(port))
    assert errors[0].startswith("refused: host 'localhost' resolves to a loopback address")


def test_the_delivery_log_leaves_out_the_query_and_credentials(app, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_TARGETS", True)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    delivery = make_delivery(f"http://127.0.0.1:{port}/hooks/in?token=s3cr3t-t0ken&x=1#frag")

    with caplog.at_level(logging.INFO, logger="blueprints.webhooks"):
        attempt_delivery(delivery.message_id)

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"http://127.0.0.1:{port}/hooks/in" in logged
    assert "s3cr3t-t0ken" not in logged and "x=1" not in logged
