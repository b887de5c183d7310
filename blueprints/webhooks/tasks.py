"""Celery tasks of the webhooks service: deliver one message, sweep up what is pending, prune
old history.

Tasks take message ids and are idempotent: a delivery is claimed before it is sent, so a task
that runs twice (a redelivered message, a sweep) sends once.
"""

import logging
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.orm import aliased

from app.extensions import celery, db
from app.locks import fleet_lock
from app.types import utcnow

from .delivery import attempt_delivery, next_due
from .models import PENDING, Delivery, DeliveryAttempt, Webhook
from .outbox import DELIVER_TASK, RESUME_TASK, hand_over, resume_after

log = logging.getLogger(__name__)

SWEEP_BATCH = 500
SWEEP_SECONDS = 20  # well within the tasks' soft time limit (celeryconfig.py)
# How long a delivery task goes on with its webhook's next deliveries before handing them over.
DRAIN_SECONDS = 1.0
# Pruning deletes this many rows per statement and transaction: locks are held briefly.
PRUNE_BATCH = 500
PRUNE_SECONDS = 20


@celery.task(name=DELIVER_TASK)
def deliver_webhook(message_id: str) -> str:
    """Attempt the delivery `message_id`; on a retryable failure, schedule the next attempt.

    Once an attempt is over its slot is free: this thread goes on with the webhook's next due
    deliveries for up to DRAIN_SECONDS (no trip through the broker), then hands the rest over,
    so one webhook's backlog takes a thread for that long at most.

    No delivery refused as "webhook busy" is left to the sweep: the attempt's result (which
    frees the slot) is committed before `next_due` reads, in a transaction of its own. A task
    refused while the slot was taken finds its delivery read here; one that comes after the
    commit finds the slot free and sends it itself.

    Nor is a paused webhook's queue: the retry of the delivery that paused it comes at the end
    of the pause and goes on with the next ones; when that delivery has failed for good,
    `resume_webhook` comes then instead.
    """
    outcome = attempt_delivery(message_id)
    status = f"{outcome.status} ({outcome.reason})" if outcome.reason else outcome.status
    drain_until = time.monotonic() + DRAIN_SECONDS
    while outcome.webhook_id is not None and outcome.retry_in is None:
        if time.monotonic() >= drain_until:
            limit = current_app.config["WEBHOOK_MAX_CONCURRENT_ATTEMPTS"]
            hand_over(next_due(outcome.webhook_id, limit))
            break
        next_ids = next_due(outcome.webhook_id, 1)
        if not next_ids:
            break
        message_id = next_ids[0]
        outcome = attempt_delivery(message_id)
    if outcome.retry_in is not None:
        hand_over([message_id], countdown=outcome.retry_in)
    elif outcome.paused_for is not None:
        resume_after(outcome.webhook_id, outcome.paused_for)
    return status


@celery.task(name=RESUME_TASK)
def resume_webhook(webhook_id: int) -> int:
    """At the end of the webhook's pause, hand over its due deliveries, one per free slot (the
    end of each attempt goes on with the next ones); how many were handed over.

    Nothing if the webhook is paused again: the attempt that paused it scheduled its own end.
    """
    limit = current_app.config["WEBHOOK_MAX_CONCURRENT_ATTEMPTS"]
    return hand_over(next_due(webhook_id, limit))


@celery.task(name="webhooks.sweep")
def sweep_deliveries() -> int:
    """Hand over pending deliveries that are overdue (broker down at commit, worker killed).

    Batch after batch, for up to SWEEP_SECONDS: after a long broker outage there can be far
    more than one batch waiting. Beat runs on every worker host: one sweep at a time in the
    whole fleet does the work, the others find the lock taken and return at once.
    """
    with fleet_lock("conduit.webhooks.sweep") as held:
        if not held:
            log.info("webhook sweep skipped: another sweep is running")
            return 0
        return sweep_overdue_deliveries()


def sweep_overdue_deliveries() -> int:
    """Hand over overdue deliveries, batch after batch; how many were found."""
    found = 0
    deadline = time.monotonic() + SWEEP_SECONDS
    while time.monotonic() < deadline:
        message_ids = overdue_deliveries(SWEEP_BATCH)
        if not message_ids:
            break
        found += len(message_ids)
        sent = hand_over(message_ids)
        log.info("webhook sweep handed over %d of %d overdue deliveries", sent, len(message_ids))
        if sent < len(message_ids) or len(message_ids) < SWEEP_BATCH:
            break  # the broker is down again, or nothing more is overdue
    return found


def overdue_deliveries(limit: int) -> list[str]:
    """Message ids of pending deliveries due for a while and unclaimed, marked as handed over.

    Deliveries of a paused webhook, or of one with an attempt in flight, are left alone: the
    end of the pause, or of that attempt, hands them over. Marking (next_attempt_at = now)
    keeps the next sweeps off them for the grace period, so a long queue is not flooded with
    copies; a copy that does go out finds nothing to claim.
    """
    now = utcnow()
    grace = timedelta(seconds=current_app.config["WEBHOOK_SWEEP_GRACE_SECONDS"])
    overdue = (
        Delivery.status == PENDING,
        Delivery.next_attempt_at <= now - grace,
        or_(Delivery.claimed_until.is_(None), Delivery.claimed_until <= now),
    )
    busy = aliased(Delivery)
    rows = db.session.execute(
        select(Delivery.id, Delivery.message_id)
        .join(Webhook, Delivery.webhook_id == Webhook.id)
        .where(
            *overdue,
            or_(Webhook.paused_until.is_(None), Webhook.paused_until <= now),
            ~exists().where(
                busy.webhook_id == Delivery.webhook_id,
                busy.status == PENDING,
                busy.claimed_until > now,
            ),
        )
        .order_by(Delivery.next_attempt_at)
        .limit(limit)
    ).all()
    db.session.rollback()  # end the read before writing (SQLite: no lock upgrade under load)
    if not rows:
        return []
    db.session.execute(
        update(Delivery)
        .where(Delivery.id.in_([row.id for row in rows]), *overdue)
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return [row.message_id for row in rows]


@celery.task(name="webhooks.prune")
def prune_deliveries() -> int:
    """Delete deliveries and attempts older than WEBHOOK_RETENTION_DAYS; how many rows."""
    return prune()


def prune() -> int:
    """Small batches, each its own short transaction, for up to PRUNE_SECONDS: never a long
    lock on the tables the workers write. Pending deliveries are kept whatever their age."""
    retention = timedelta(days=current_app.config["WEBHOOK_RETENTION_DAYS"])
    cutoff = utcnow() - retention
    deleted = 0
    deadline = time.monotonic() + PRUNE_SECONDS
    while time.monotonic() < deadline:
        attempt_ids = db.session.scalars(
            select(DeliveryAttempt.id)
            .where(DeliveryAttempt.started_at < cutoff)
            .order_by(DeliveryAttempt.started_at)
            .limit(PRUNE_BATCH)
        ).all()
        delivery_ids = db.session.scalars(
            select(Delivery.id)
            .where(Delivery.created_at < cutoff, Delivery.status != PENDING)
            .order_by(Delivery.created_at)
            .limit(PRUNE_BATCH)
        ).all()
        db.session.rollback()
        if not attempt_ids and not delivery_ids:
            break
        if attempt_ids:
            deleted += _delete(DeliveryAttempt, DeliveryAttempt.id.in_(attempt_ids))
        if delivery_ids:
            deleted += _delete(DeliveryAttempt, DeliveryAttempt.delivery_id.in_(delivery_ids))
            deleted += _delete(Delivery, Delivery.id.in_(delivery_ids))
    if deleted:
        log.info("webhook history pruned: %d rows older than %s", deleted, cutoff.isoformat())
    return deleted


def _delete(model, condition) -> int:
    count = db.session.execute(
        delete(model).where(condition).execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return count
