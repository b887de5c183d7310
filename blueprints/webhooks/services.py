"""Changing webhooks, and sending a delivery again."""

from datetime import timedelta
from typing import Any

from flask import current_app

from app.errors import ApiError
from app.extensions import db
from app.types import utcnow
from blueprints.clients.models import Client

from .models import PENDING, PING_EVENT, Delivery, Webhook
from .outbox import event_body, hand_over_after_commit, record_delivery


def create_webhook(client: Client, fields: dict[str, Any]) -> Webhook:
    """A new webhook of `client` (url, events); its secret is drawn."""
    webhook = Webhook(client_id=client.id, **fields)
    db.session.add(webhook)
    return webhook


def delete_webhook(webhook: Webhook) -> None:
    """Delete the webhook and its deliveries."""
    db.session.delete(webhook)


def ping(webhook: Webhook, data: dict[str, Any]) -> Delivery:
    """A `webhook.ping` delivery of `data` to the (enabled) webhook, sent after the commit."""
    require_enabled(webhook)
    return record_delivery(webhook.id, PING_EVENT, event_body(PING_EVENT, data))


def require_enabled(webhook: Webhook) -> None:
    """422 unless the webhook is enabled (nothing is sent to a disabled one)."""
    if not webhook.enabled:
        raise ApiError(422, "is disabled: enable it first (PATCH enabled: true)", field="webhook")


def update_webhook(webhook: Webhook, changes: dict[str, Any]) -> None:
    """Change url, events and enabled; enabling clears the run of failures."""
    changes = dict(changes)
    enabled = changes.pop("enabled", None)
    for field, value in changes.items():
        setattr(webhook, field, value)
    if enabled is True and not webhook.enabled:
        webhook.enable()
    elif enabled is False and webhook.enabled:
        webhook.enabled = False
        webhook.disabled_reason = "disabled by the client"
    webhook.updated_at = utcnow()


def rotate_secret(webhook: Webhook) -> None:
    """Sign from now on with a new secret, and with the old one too for
    WEBHOOK_SECRET_OVERLAP_SECONDS, while receivers switch."""
    webhook.rotate_secret(timedelta(seconds=current_app.config["WEBHOOK_SECRET_OVERLAP_SECONDS"]))
    webhook.updated_at = utcnow()


def redeliver(delivery: Delivery) -> None:
    """Send `delivery` again after the commit, with a fresh run of attempts (unless a worker is
    sending it right now: then it is only handed over again)."""
    now = utcnow()
    in_flight = delivery.status == PENDING and (delivery.claimed_until or now) > now
    if not in_flight:
        delivery.status = PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = now
        delivery.claimed_until = None
        delivery.delivered_at = None
    hand_over_after_commit(delivery.message_id)
