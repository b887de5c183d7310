"""Routes of the webhooks service: a client registers, changes, tests and inspects its webhooks."""

from flask import Blueprint

from app.extensions import db
from app.openapi import Envelope, documents
from app.schemas import PageQuery
from blueprints.clients.auth import requires_client_key

from . import services
from .queries import (
    attempts_page,
    deliveries_page,
    find_delivery,
    find_webhook,
    webhooks_page,
)
from .serializers import (
    AttemptOutput,
    DeliveryOutput,
    NewWebhookInput,
    WebhookOutput,
    WebhookSecretOutput,
    WebhookUpdateInput,
    webhook_output,
)

# cli_group=None: `manage.py reencrypt-webhook-secrets`, not `manage.py webhooks ...`.
blueprint = Blueprint("webhooks", __name__, cli_group=None)
# Webhook management is limited per API client (app/ratelimits.py).
blueprint.rate_limits = ("webhooks_per_client",)

webhook_envelope = Envelope("webhook", WebhookOutput)
secret_envelope = Envelope("webhook", WebhookSecretOutput)
delivery_envelope = Envelope("delivery", DeliveryOutput)
webhooks_envelope = Envelope("webhooks", WebhookOutput, many=True, count="webhooksCount")
deliveries_envelope = Envelope("deliveries", DeliveryOutput, many=True, count="deliveriesCount")
attempts_envelope = Envelope("attempts", AttemptOutput, many=True, count="attemptsCount")
NO_SUCH_WEBHOOK = "The client has no webhook with this id"
NO_SUCH_DELIVERY = "No such webhook, or no such delivery of it"
DISABLED = "The webhook is disabled: enable it first"


@blueprint.post("/webhooks")
@requires_client_key
@documents(input=Envelope("webhook", NewWebhookInput), output=secret_envelope, status=201)
def create_webhook(client, fields):
    """Register a webhook for the calling client; its signing secret is shown this once."""
    webhook = services.create_webhook(client, fields)
    db.session.commit()
    return webhook


@blueprint.get("/webhooks")
@requires_client_key
@documents(query=PageQuery, output=webhooks_envelope)
def list_webhooks(client, page):
    """The calling client's webhooks, oldest first."""
    return webhooks_page(client, **page)


@blueprint.get("/webhooks/<int:webhook_id>")
@requires_client_key
@documents(output=webhook_envelope, responses={404: NO_SUCH_WEBHOOK})
def get_webhook(client, webhook_id):
    """One of the calling client's webhooks."""
    return find_webhook(client, webhook_id)


@blueprint.patch("/webhooks/<int:webhook_id>")
@requires_client_key
@documents(
    input=Envelope("webhook", WebhookUpdateInput),
    output=webhook_envelope,
    responses={404: NO_SUCH_WEBHOOK},
)
def update_webhook(client, changes, webhook_id):
    """Change a webhook's url, events or enabled; enabling it clears its failures."""
    webhook = find_webhook(client, webhook_id)
    services.update_webhook(webhook, changes)
    db.session.commit()
    return webhook


@blueprint.delete("/webhooks/<int:webhook_id>")
@requires_client_key
@documents(status=204, responses={404: NO_SUCH_WEBHOOK})
def delete_webhook(client, webhook_id):
    """Delete a webhook and its deliveries."""
    services.delete_webhook(find_webhook(client, webhook_id))
    db.session.commit()


@blueprint.post("/webhooks/<int:webhook_id>/rotate-secret")
@requires_client_key
@documents(output=secret_envelope, responses={404: NO_SUCH_WEBHOOK})
def rotate_webhook_secret(client, webhook_id):
    """Replace a webhook's signing secret; the new one is shown this once. The old one signs
    too for WEBHOOK_SECRET_OVERLAP_SECONDS, while receivers switch."""
    webhook = find_webhook(client, webhook_id)
    services.rotate_secret(webhook)
    db.session.commit()
    return webhook


@blueprint.post("/webhooks/<int:webhook_id>/ping")
@requires_client_key
@documents(output=delivery_envelope, status=202, responses={404: NO_SUCH_WEBHOOK, 422: DISABLED})
def ping_webhook(client, webhook_id):
    """Send a signed `webhook.ping` event to the webhook now."""
    webhook = find_webhook(client, webhook_id)
    delivery = services.ping(webhook, {"webhook": webhook_output.dump(webhook)})
    db.session.commit()
    return delivery


@blueprint.get("/webhooks/<int:webhook_id>/deliveries")
@requires_client_key
@documents(query=PageQuery, output=deliveries_envelope, responses={404: NO_SUCH_WEBHOOK})
def list_deliveries(client, page, webhook_id):
    """A webhook's deliveries, newest first: event, status, attempts, last result, times."""
    return deliveries_page(find_webhook(client, webhook_id), **page)


@blueprint.post("/webhooks/<int:webhook_id>/deliveries/<delivery_id>/redeliver")
@requires_client_key
@documents(output=delivery_envelope, status=202, responses={404: NO_SUCH_DELIVERY, 422: DISABLED})
def redeliver_delivery(client, webhook_id, delivery_id):
    """Send a delivery again with the same webhook-id, with a fresh run of attempts."""
    webhook = find_webhook(client, webhook_id)
    services.require_enabled(webhook)
    delivery = find_delivery(webhook, delivery_id)
    services.redeliver(delivery)
    db.session.commit()
    return delivery


@blueprint.get("/webhooks/<int:webhook_id>/deliveries/<delivery_id>/attempts")
@requires_client_key
@documents(query=PageQuery, output=attempts_envelope, responses={404: NO_SUCH_DELIVERY})
def list_delivery_attempts(client, page, webhook_id, delivery_id):
    """A delivery's attempts, oldest first: when, how long, status code or error, and the
    first KiB of the answer."""
    return attempts_page(find_delivery(find_webhook(client, webhook_id), delivery_id), **page)
