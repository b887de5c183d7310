"""Reading webhooks and deliveries: a client's own (another client's answer 404), and who
subscribes to an event."""

from collections.abc import Iterable

from sqlalchemy import select

from app.errors import ApiError, found
from app.extensions import db
from blueprints.clients.models import Client

from .models import Delivery, DeliveryAttempt, Webhook, WebhookEvent


def find_webhook(client: Client, webhook_id: int) -> Webhook:
    """The client's webhook `webhook_id`; 404 for another client's, as for a missing one."""
    webhook = db.session.get(Webhook, webhook_id)
    if webhook is None or webhook.client_id != client.id:
        raise ApiError(404, "webhook not found")
    return webhook


def webhooks_page(client: Client, limit: int, offset: int) -> tuple[Iterable[Webhook], int]:
    """A page of the client's webhooks, oldest first, and how many it has."""
    mine = db.select(Webhook).filter_by(client_id=client.id)
    count = db.session.scalar(db.select(db.func.count()).select_from(mine.subquery()))
    return db.session.scalars(mine.order_by(Webhook.id).limit(limit).offset(offset)), count


def deliveries_page(webhook: Webhook, limit: int, offset: int) -> tuple[Iterable[Delivery], int]:
    """A page of the webhook's deliveries, newest first, and how many it has."""
    count = db.session.scalar(
        db.select(db.func.count(Delivery.id)).filter_by(webhook_id=webhook.id)
    )
    deliveries = db.session.scalars(
        db.select(Delivery)
        .filter_by(webhook_id=webhook.id)
        .order_by(Delivery.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return deliveries, count


def find_delivery(webhook: Webhook, message_id: str) -> Delivery:
    """The webhook's delivery `message_id`; 404 if it has none."""
    query = db.select(Delivery).filter_by(webhook_id=webhook.id, message_id=message_id)
    return found(db.session.scalar(query), "delivery")


def attempts_page(
    delivery: Delivery, limit: int, offset: int
) -> tuple[Iterable[DeliveryAttempt], int]:
    """A page of the delivery's attempts, oldest first, and how many it has."""
    count = db.session.scalar(
        db.select(db.func.count(DeliveryAttempt.id)).filter_by(delivery_id=delivery.id)
    )
    attempts = db.session.scalars(
        db.select(DeliveryAttempt)
        .filter_by(delivery_id=delivery.id)
        .order_by(DeliveryAttempt.id)
        .limit(limit)
        .offset(offset)
    )
    return attempts, count


def subscribed_webhook_ids(event_type: str) -> list[int]:
    """The enabled webhooks of unrevoked clients that subscribe to `event_type`, by id."""
    query = (
        select(Webhook.id)
        .join(WebhookEvent)
        .join(Client)
        .where(
            WebhookEvent.event == event_type,
            Webhook.enabled.is_(True),
            Client.revoked_at.is_(None),
        )
        .order_by(Webhook.id)
    )
    return list(db.session.scalars(query))
