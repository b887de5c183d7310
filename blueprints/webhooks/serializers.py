"""Webhooks' input (load) and output (dump) schemas."""

from flask import current_app
from marshmallow import Schema, ValidationError, fields, validate, validates

from app.schemas import InputSchema, Timestamp, strip

from .models import EVENT_TYPES
from .targets import TargetRefused, check_target

UNKNOWN_EVENT = "must be one of: " + ", ".join(EVENT_TYPES)


def url_field(**kwargs) -> fields.String:
    return fields.String(pre_load=strip, **kwargs)


def events_field(**kwargs) -> fields.List:
    return fields.List(
        fields.String(validate=validate.OneOf(EVENT_TYPES, error=UNKNOWN_EVENT)),
        validate=validate.Length(min=1, error="must name at least one event"),
        **kwargs,
    )


class WebhookTargetInput(InputSchema):
    @validates("url")
    def validate_url(self, url: str, **kwargs) -> None:
        try:
            check_target(url, current_app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"])
        except TargetRefused as refused:
            raise ValidationError(str(refused)) from None


class NewWebhookInput(WebhookTargetInput):
    url = url_field(required=True)
    events = events_field(required=True)


class WebhookUpdateInput(WebhookTargetInput):
    url = url_field()
    events = events_field()
    enabled = fields.Boolean()


class WebhookOutput(Schema):
    id = fields.Integer()
    url = fields.String()
    events = fields.List(fields.String())
    enabled = fields.Boolean()
    disabledReason = fields.String(attribute="disabled_reason", allow_none=True)
    createdAt = Timestamp(attribute="created_at")
    updatedAt = Timestamp(attribute="updated_at")


class WebhookSecretOutput(WebhookOutput):
    """A webhook with its signing secret, shown at registration and rotation (documents it)."""

    secret = fields.String()


class DeliveryOutput(Schema):
    id = fields.String(attribute="message_id")
    event = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    lastStatusCode = fields.Integer(attribute="last_status_code", allow_none=True)
    lastError = fields.String(attribute="last_error", allow_none=True)
    createdAt = Timestamp(attribute="created_at")
    lastAttemptAt = Timestamp(attribute="last_attempt_at", allow_none=True)
    deliveredAt = Timestamp(attribute="delivered_at", allow_none=True)
    nextAttemptAt = Timestamp(attribute="next_attempt_at")


class AttemptOutput(Schema):
    number = fields.Integer()
    startedAt = Timestamp(attribute="started_at")
    durationMs = fields.Integer(attribute="duration_ms")
    statusCode = fields.Integer(attribute="status_code", allow_none=True)
    error = fields.String(allow_none=True)
    responseExcerpt = fields.String(attribute="response_excerpt", allow_none=True)


new_webhook_input = NewWebhookInput()
webhook_update_input = WebhookUpdateInput()
webhook_output = WebhookOutput()
delivery_output = DeliveryOutput()
attempt_output = AttemptOutput()
