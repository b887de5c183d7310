"""The outbox: events become delivery rows in the transaction that caused them, and are handed
to Celery only once that transaction has committed. A rollback sends nothing; a broker that is
down at commit time leaves the rows pending for the sweep (tasks.sweep_deliveries).
"""

import json
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from app.events import event_published
from app.extensions import db
from app.types import utcnow

from .models import Delivery, new_message_id, subscribed_webhook_ids
from .tasks import hand_over

# Message ids written in the session's transaction, handed over after it commits.
_PENDING_KEY = "webhook_messages"


def event_body(event_type: str, data: dict[str, Any]) -> str:
    """The JSON body every receiver gets: `{"type", "timestamp", "data"}`."""
    timestamp = utcnow().isoformat(timespec="milliseconds").replace("+00:00", "Z")
    body = {"type": event_type, "timestamp": timestamp, "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def record_delivery(webhook_id: int, event_type: str, body: str) -> Delivery:
    """An outbox row for a webhook in the current transaction, handed over after the commit."""
    delivery = Delivery(
        webhook_id=webhook_id,
        event=event_type,
        payload=body,
        message_id=new_message_id(),
        next_attempt_at=utcnow(),
    )
    db.session.add(delivery)
    hand_over_after_commit(delivery.message_id)
    return delivery


def hand_over_after_commit(message_id: str) -> None:
    """Send `message_id` to the workers once the current transaction commits (never if not)."""
    db.session.info.setdefault(_PENDING_KEY, []).append(message_id)


def record_event(sender: Flask, event_type: str, data: dict[str, Any]) -> None:
    """Subscriber of app.events: one delivery per webhook subscribed to `event_type`."""
    # No autoflush: the publisher's own pending rows are flushed by its commit, not here.
    with db.session.no_autoflush:
        webhook_ids = subscribed_webhook_ids(event_type)
        if not webhook_ids:
            return
        body = event_body(event_type, data)
        for webhook_id in webhook_ids:
            record_delivery(webhook_id, event_type, body)


def _after_commit(session: Session) -> None:
    message_ids = session.info.pop(_PENDING_KEY, None)
    if message_ids:
        hand_over(message_ids)


def _after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    # A rolled-back savepoint may leave ids of rows that never existed: handing them over is
    # harmless (the task finds no pending row), so only a whole rollback forgets them.
    if not previous_transaction.nested:
        session.info.pop(_PENDING_KEY, None)


def subscribe(app: Flask) -> None:
    """Record `app`'s events in the outbox, and hand them over after each commit."""
    event_published.connect(record_event, sender=app)
    if not event.contains(db.session, "after_commit", _after_commit):
        event.listen(db.session, "after_commit", _after_commit)
        event.listen(db.session, "after_soft_rollback", _after_soft_rollback)
