"""Routes of the webhooks service: a client registers, changes, tests and inspects its webhooks."""

from flask import Blueprint

from app.extensions import db
from app.inputs import page_arguments, request_json
from app.openapi import CLIENT_KEY, documents, envelope
from app.responses import no_content
from app.schemas import PageQuery
from blueprints.clients.auth import requires_client_key

from . import services
from .models import Webhook
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
    attempt_output,
    delivery_output,
    new_webhook_input,
    webhook_output,
    webhook_update_input,
)

# cli_group=None: `manage.py reencrypt-webhook-secrets`, not `manage.py webhooks ...`.
blueprint = Blueprint("webhooks", __name__, cli_group=None)
# Webhook management is limited per API client (app/ratelimits.py).
blueprint.rate_limits = ("webhooks_per_client",)

webhook_envelope = envelope("webhook", WebhookOutput)
secret_envelope = envelope("webhook", WebhookSecretOutput)
delivery_envelope = envelope("delivery", DeliveryOutput)
NO_SUCH_WEBHOOK = "The client has no webhook with this id"
NO_SUCH_DELIVERY = "No such webhook, or no such delivery of it"
DISABLED = "The webhook is disabled: enable it first"


def with_secret(webhook: Webhook) -> dict:
    return {"webhook": {**webhook_output.dump(webhook), "secret": webhook.secret}}


@blueprint.post("/webhooks")
@documents(
    input=envelope("webhook", NewWebhookInput), output=secret_envelope, status=201, auth=CLIENT_KEY
)
@requires_client_key
def create_webhook(client):
    """Register a webhook for the calling client; its signing secret is shown this once."""
    webhook = services.create_webhook(client, new_webhook_input.load(request_json("webhook")))
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
    webhooks, count = webhooks_page(client, *page_arguments())
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
    services.update_webhook(webhook, webhook_update_input.load(request_json("webhook")))
    db.session.commit()
    return {"webhook": webhook_output.dump(webhook)}


@blueprint.delete("/webhooks/<int:webhook_id>")
@documents(status=204, responses={404: NO_SUCH_WEBHOOK}, auth=CLIENT_KEY)
@requires_client_key
def delete_webhook(client, webhook_id):
    """Delete a webhook and its deliveries."""
    services.delete_webhook(find_webhook(client, webhook_id))
    db.session.commit()
    return no_content()


@blueprint.post("/webhooks/<int:webhook_id>/rotate-secret")
@documents(output=secret_envelope, responses={404: NO_SUCH_WEBHOOK}, auth=CLIENT_KEY)
@requires_client_key
def rotate_webhook_secret(client, webhook_id):
    """Replace a webhook's signing secret; the new one is shown this once. The old one signs
    too for WEBHOOK_SECRET_OVERLAP_SECONDS, while receivers switch."""
    webhook = find_webhook(client, webhook_id)
    services.rotate_secret(webhook)
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
    delivery = services.ping(webhook, {"webhook": webhook_output.dump(webhook)})
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
    deliveries, count = deliveries_page(webhook, *page_arguments())
    return {"deliveries": delivery_output.dump(deliveries, many=True), "deliveriesCount": count}


@blueprint.post("/webhooks/<int:webhook_id>/deliveries/<delivery_id>/redeliver")
@documents(
    output=delivery_envelope,
    status=202,
    responses={404: NO_SUCH_DELIVERY, 422: DISABLED},
    auth=CLIENT_KEY,
)
@requires_client_key
def redeliver_delivery(client, webhook_id, delivery_id):
    """Send a delivery again with the same webhook-id, with a fresh run of attempts."""
    webhook = find_webhook(client, webhook_id)
    services.require_enabled(webhook)
    delivery = find_delivery(webhook, delivery_id)
    services.redeliver(delivery)
    db.session.commit()
    return {"delivery": delivery_output.dump(delivery)}, 202


@blueprint.get("/webhooks/<int:webhook_id>/deliveries/<delivery_id>/attempts")
@documents(
    query=PageQuery,
    output=envelope("attempts", AttemptOutput, many=True, count="attemptsCount"),
    responses={404: NO_SUCH_DELIVERY},
    auth=CLIENT_KEY,
)
@requires_client_key
def list_delivery_attempts(client, webhook_id, delivery_id):
    """A delivery's attempts, oldest first: when, how long, status code or error, and the
    first KiB of the answer."""
    delivery = find_delivery(find_webhook(client, webhook_id), delivery_id)
    attempts, count = attempts_page(delivery, *page_arguments())
    return {"attempts": attempt_output.dump(attempts, many=True), "attemptsCount": count}
