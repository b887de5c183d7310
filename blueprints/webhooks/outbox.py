"""The outbox: events become delivery rows in the transaction that caused them, and are handed
to Celery (`hand_over`, the web process's producer) only once that transaction has committed.
A rollback sends nothing; a broker that is down at commit time leaves the rows pending for the
sweep (tasks.sweep_deliveries).
"""

import json
import logging
from collections.abc import Iterable
from typing import Any

from flask import Flask, current_app
from kombu.pools import producers
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from app.events import subscribe
from app.extensions import celery, db
from app.schemas import iso_timestamp
from app.types import utcnow

from .models import Delivery, new_message_id
from .queries import subscribed_webhook_ids

log = logging.getLogger(__name__)

DELIVER_TASK = "webhooks.deliver"  # tasks.deliver_webhook
RESUME_TASK = "webhooks.resume"  # tasks.resume_webhook
# Message ids written in the session's transaction, handed over after it commits.
_PENDING_KEY = "webhook_messages"


def event_body(event_type: str, data: dict[str, Any]) -> str:
    """The JSON body every receiver gets: `{"type", "timestamp", "data"}`."""
    body = {"type": event_type, "timestamp": iso_timestamp(utcnow()), "data": data}
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


def subscribe_outbox(app: Flask) -> None:
    """Record `app`'s events in the outbox, and hand them over after each commit."""
    subscribe(app, record_event)
    if not event.contains(db.session, "after_commit", _after_commit):
        event.listen(db.session, "after_commit", _after_commit)
        event.listen(db.session, "after_soft_rollback", _after_soft_rollback)


def publisher():
    """A producer whose every step on the broker is bounded by BROKER_PUBLISH_TIMEOUT_SECONDS
    (connect, each command), with no retry: a frozen broker costs a request that much at most,
    and the rows stay pending for the sweep."""
    timeout = current_app.config["BROKER_PUBLISH_TIMEOUT_SECONDS"]
    connection = celery.connection_for_write(
        connect_timeout=timeout,
        transport_options={
            "socket_timeout": timeout,  # Redis
            "socket_connect_timeout": timeout,
            "read_timeout": timeout,  # RabbitMQ (py-amqp), publisher confirms included
            "write_timeout": timeout,
            "max_retries": 0,
        },
    )
    # kombu keeps one pool per connection settings (and resets them in a forked child).
    return producers[connection].acquire(block=True, timeout=timeout)


def hand_over(message_ids: Iterable[str], countdown: float | None = None) -> int:
    """Send delivery tasks to the broker; how many were sent (the rest wait for the sweep)."""
    message_ids = list(message_ids)
    left = "{} webhook deliveries left pending for the sweep"
    return _send(DELIVER_TASK, [(message_id,) for message_id in message_ids], countdown, left)


def resume_after(webhook_id: int, seconds: float) -> bool:
    """Send the task that hands over a paused webhook's deliveries `seconds` from now, when
    its pause ends; False if the broker would not take it (the sweep sends them later)."""
    left = f"the end of webhook {webhook_id}'s pause left to the sweep"
    return _send(RESUME_TASK, [(webhook_id,)], seconds, left) == 1


def _send(task_name: str, arguments: list[tuple], countdown: float | None, left: str) -> int:
    """Send a task per item of `arguments`, bounded by the publisher's timeouts; how many were
    sent. A broker that fails is logged with `left` (given how many were not sent)."""
    if not arguments:
        return 0
    task = celery.tasks[task_name]  # tasks.py, which imports this module
    sent = 0
    try:
        with publisher() as producer:
            for args in arguments:
                task.apply_async(args, countdown=countdown, producer=producer, retry=False)
                sent += 1
    except Exception:
        # The commit has happened: failing here would lose nothing (the rows are pending),
        # but would turn a saved change into an error for the caller.
        log.warning("broker unavailable: %s", left.format(len(arguments) - sent), exc_info=True)
    return sent
