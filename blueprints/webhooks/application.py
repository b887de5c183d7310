"""Routes of the webhooks service: a client registers, changes, tests and inspects its webhooks."""

from flask import Blueprint

from app.errors import ApiError
from app.extensions import db
from app.inputs import page_arguments, request_json
from app.openapi import CLIENT_KEY, documents, envelope
from app.responses import no_content
from app.schemas import PageQuery
from app.types import utcnow
from blueprints.clients.auth import requires_client_key

from .models import PENDING, PING_EVENT, Delivery, Webhook
from .outbox import event_body, hand_over_after_commit, record_delivery
from .serializers import (
    DeliveryOutput,
    NewWebhookInput,
    WebhookOutput,
    WebhookSecretOutput,
    WebhookUpdateInput,
    delivery_output,
    new_webhook_input,
    webhook_output,
    webhook_update_input,
)

blueprint = Blueprint("webhooks", __name__)

webhook_envelope = envelope("webhook", WebhookOutput)
secret_envelope = envelope("webhook", WebhookSecretOutput)
delivery_envelope = envelope("delivery", DeliveryOutput)
NO_SUCH_WEBHOOK = "The client has no webhook with this id"
DISABLED = "The webhook is disabled: enable it first"


def find_webhook(client, webhook_id: int) -> Webhook:
    """The client's webhook `webhook_id`; 404 for another client's, as for a missing one."""
    webhook = db.session.get(Webhook, webhook_id)
    if webhook is None or webhook.client_id != client.id:
        raise ApiError(404, "webhook not found")
    return webhook


def with_secret(webhook: Webhook) -> dict:
    return {"webhook": {**webhook_output.dump(webhook), "secret": webhook.secret}}


def require_enabled(webhook: Webhook) -> None:
    if not webhook.enabled:
        raise ApiError(422, "is disabled: enable it first (PATCH enabled: true)", field="webhook")


@blueprint.post("/webhooks")
@documents(
    input=envelope("webhook", NewWebhookInput), output=secret_envelope, status=201, auth=CLIENT_KEY
)
@requires_client_key
def create_webhook(client):
    """Register a webhook for the calling client; its signing secret is shown this once."""
    webhook = Webhook(client_id=client.id, **new_webhook_input.load(request_json("webhook")))
    db.session.add(webhook)
    db.session.commit()
    return with_secret(webhook), 201


@blueprint.get("/webhooks")
@documents(
    query=PageQuery,
    output=envelope("webhooks", WebhookOutput, many=True, count="webhooksCount"),
    auth=CLIENT_KEY,
)
@requires_client_key
def list_webhooks(client):
    """The calling client's webhooks, oldest first."""
    limit, offset = page_arguments()
    mine = db.select(Webhook).filter_by(client_id=client.id)
    count = db.session.scalar(db.select(db.func.count()).select_from(mine.subquery()))
    webhooks = db.session.scalars(mine.order_by(Webhook.id).limit(limit).offset(offset))
    return {"webhooks": webhook_output.dump(webhooks, many=True), "webhooksCount": count}


@blueprint.get("/webhooks/<int:webhook_id>")
@documents(output=webhook_envelope, responses={404: NO_SUCH_WEBHOOK}, auth=CLIENT_KEY)
@requires_client_key
def get_webhook(client, webhook_id):
    """One of the calling client's webhooks."""
    return {"webhook": webhook_output.dump(find_webhook(client, webhook_id))}


@blueprint.patch("/webhooks/<int:webhook_id>")
@documents(
    input=envelope("webhook", WebhookUpdateInput),
    output=webhook_envelope,
    responses={404: NO_SUCH_WEBHOOK},
    auth=CLIENT_KEY,
)
@requires_client_key
def update_webhook(client, webhook_id):
    """Change a webhook's url, events or enabled; enabling it clears its failures."""
    webhook = find_webhook(client, webhook_id)
    changes = webhook_update_input.load(request_json("webhook"))
    enabled = changes.pop("enabled", None)
    for field, value in changes.items():
        setattr(webhook, field, value)
    if enabled is True and not webhook.enabled:
        webhook.enable()
    elif enabled is False and webhook.enabled:
        webhook.enabled = False
        webhook.disabled_reason = "disabled by the client"
    webhook.updated_at = utcnow()
    db.session.commit()
    return {"webhook": webhook_output.dump(webhook)}


@blueprint.delete("/webhooks/<int:webhook_id>")
@documents(status=204, responses={404: NO_SUCH_WEBHOOK}, auth=CLIENT_KEY)
@requires_client_key
def delete_webhook(client, webhook_id):
    """Delete a webhook and its deliveries."""
    db.session.delete(find_webhook(client, webhook_id))
    db.session.commit()
    return no_content()


@blueprint.post("/webhooks/<int:webhook_id>/rotate-secret")
@documents(output=secret_envelope, responses={404: NO_SUCH_WEBHOOK}, auth=CLIENT_KEY)
@requires_client_key
def rotate_webhook_secret(client, webhook_id):
    """Replace a webhook's signing secret; the new one is shown this once."""
    webhook = find_webhook(client, webhook_id)
    webhook.rotate_secret()
    webhook.updated_at = utcnow()
    db.session.commit()
    return with_secret(webhook)


@blueprint.post("/webhooks/<int:webhook_id>/ping")
@documents(
    output=delivery_envelope,
    status=202,
    responses={404: NO_SUCH_WEBHOOK, 422: DISABLED},
    auth=CLIENT_KEY,
)
@requires_client_key
def ping_webhook(client, webhook_id):
    """Send a signed `webhook.ping` event to the webhook now."""
    webhook = find_webhook(client, webhook_id)
    require_enabled(webhook)
    data = {"webhook": webhook_output.dump(webhook)}
    delivery = record_delivery(webhook.id, PING_EVENT, event_body(PING_EVENT, data))
    db.session.commit()
    return {"delivery": delivery_output.dump(delivery)}, 202


@blueprint.get("/webhooks/<int:webhook_id>/deliveries")
@documents(
    query=PageQuery,
    output=envelope("deliveries", DeliveryOutput, many=True, count="deliveriesCount"),
    responses={404: NO_SUCH_WEBHOOK},
    auth=CLIENT_KEY,
)
@requires_client_key
def list_deliveries(client, webhook_id):
    """A webhook's deliveries, newest first: event, status, attempts, last result, times."""
    webhook = find_webhook(client, webhook_id)
    limit, offset = page_arguments()
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
    return {"deliveries": delivery_output.dump(deliveries, many=True), "deliveriesCount": count}


@blueprint.post("/webhooks/<int:webhook_id>/deliveries/<delivery_id>/redeliver")
@documents(
    output=delivery_envelope,
    status=202,
    responses={404: "No such webhook, or no such delivery of it", 422: DISABLED},
    auth=CLIENT_KEY,
)
@requires_client_key
def redeliver_delivery(client, webhook_id, delivery_id):
    """Send a delivery again with the same webhook-id, with a fresh run of attempts."""
    webhook = find_webhook(client, webhook_id)
    require_enabled(webhook)
    delivery = db.session.scalar(
        db.select(Delivery).filter_by(webhook_id=webhook.id, message_id=delivery_id)
    )
    if delivery is None:
        raise ApiError(404, "delivery not found")
    now = utcnow()
    in_flight = delivery.status == PENDING and (delivery.claimed_until or now) > now
    if not in_flight:
        delivery.status = PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = now
        delivery.claimed_until = None
        delivery.delivered_at = None
    hand_over_after_commit(delivery.message_id)
    db.session.commit()
    return {"delivery": delivery_output.dump(delivery)}, 202
