"""Webhooks (a client's endpoint and the events it wants) and their deliveries (the outbox)."""

import base64
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.types import LongText, UTCDateTime, cascading_key, utcnow
from blueprints.clients.models import Client

from .secrets import ENCRYPTED_MAX_LENGTH, decrypt_secret, encrypt_secret
from .targets import URL_MAX_LENGTH

EVENT_TYPES = (
    "article.created",
    "article.updated",
    "article.deleted",
    "comment.created",
    "comment.deleted",
    "profile.followed",
)
# Sent on request (POST /api/webhooks/{id}/ping), never subscribed to.
PING_EVENT = "webhook.ping"
EVENT_MAX_LENGTH = 64
SECRET_TAG = "whsec_"
REASON_MAX_LENGTH = 255
# What an attempt keeps of the receiver's answer: the first KiB is enough to tell what went wrong.
EXCERPT_MAX_BYTES = 1024

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


def new_secret() -> str:
    """A signing secret as Standard Webhooks writes it: whsec_ + base64 of 32 random bytes."""
    return SECRET_TAG + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def new_encrypted_secret() -> str:
    """A new signing secret, encrypted as it is stored."""
    return encrypt_secret(new_secret())


def new_message_id() -> str:
    """The webhook-id of a delivery, the same on every attempt so receivers can de-duplicate."""
    return f"msg_{uuid.uuid4().hex}"


class Webhook(db.Model):
    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = cascading_key("clients.id", index=True)
    url: Mapped[str] = mapped_column(String(URL_MAX_LENGTH))
    # Encrypted at rest (secrets.py); `secret` reads and writes it in clear.
    encrypted_secret: Mapped[str] = mapped_column(
        "secret", String(ENCRYPTED_MAX_LENGTH), default=new_encrypted_secret
    )
    # After a rotation the old secret signs too, until previous_secret_until (an overlap window
    # for receivers to switch); encrypted like the current one.
    encrypted_previous_secret: Mapped[str | None] = mapped_column(
        "previous_secret", String(ENCRYPTED_MAX_LENGTH), default=None
    )
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(REASON_MAX_LENGTH), default=None)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    # Attempts in a row that failed in a way worth retrying (timeout, connection error, 5xx):
    # the webhook as a whole backs off until `paused_until`, its pending deliveries wait.
    failing_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    client: Mapped[Client] = relationship()
    subscriptions: Mapped[list["WebhookEvent"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="WebhookEvent.event"
    )

    @property
    def events(self) -> list[str]:
        return [subscription.event for subscription in self.subscriptions]

    @events.setter
    def events(self, events: list[str]) -> None:
        wanted = set(events)
        self.subscriptions = [s for s in self.subscriptions if s.event in wanted]
        for event in sorted(wanted - set(self.events)):
            self.subscriptions.append(WebhookEvent(event=event))

    def enable(self) -> None:
        """Deliver to this webhook again, starting a new count of failures."""
        self.enabled = True
        self.disabled_reason = None
        self.consecutive_failures = 0
        self.failing_attempts = 0
        self.paused_until = None

    @property
    def secret(self) -> str:
        """The current signing secret, decrypted."""
        if self.encrypted_secret is None:
            self.encrypted_secret = new_encrypted_secret()
        return decrypt_secret(self.encrypted_secret)

    def rotate_secret(self, overlap: timedelta) -> str:
        """Sign with a new secret from now on, and with the old one too for `overlap`;
        return the new secret."""
        self.encrypted_previous_secret = self.encrypted_secret
        self.previous_secret_until = utcnow() + overlap if overlap.total_seconds() > 0 else None
        self.encrypted_secret = new_encrypted_secret()
        return self.secret

    def __repr__(self) -> str:
        return f"<Webhook {self.id} {self.url!r}>"


class WebhookEvent(db.Model):
    """One event type a webhook subscribes to: found by event when the event happens."""

    __tablename__ = "webhook_events"

    webhook_id: Mapped[int] = cascading_key("webhooks.id", primary_key=True)
    event: Mapped[str] = mapped_column(String(EVENT_MAX_LENGTH), primary_key=True, index=True)


class Delivery(db.Model):
    """One message for one webhook: the outbox row, written in the transaction of its cause."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # The sweep looks for pending deliveries that are due.
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        # A claim counts a webhook's attempts in flight; a finished attempt finds its next due.
        Index(
            "ix_webhook_deliveries_webhook_id_status_next_attempt_at",
            "webhook_id",
            "status",
            "next_attempt_at",
        ),
        # Pruning looks for deliveries older than the retention.
        Index("ix_webhook_deliveries_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(40), unique=True, default=new_message_id)
    webhook_id: Mapped[int] = cascading_key("webhooks.id", index=True)
    event: Mapped[str] = mapped_column(String(EVENT_MAX_LENGTH))
    # The exact body that is signed and sent; an article's body can outgrow TEXT's 64 KiB.
    payload: Mapped[str] = mapped_column(LongText)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(String(REASON_MAX_LENGTH), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # When the next attempt is due (the sweep hands over what is overdue), and until when a
    # worker holds the delivery while it sends (a worker killed mid-send lets it go then).
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    webhook: Mapped[Webhook] = relationship(lazy="raise")


class DeliveryAttempt(db.Model):
    """One request made for a delivery: when, how long, and what the receiver answered."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = cascading_key("webhook_deliveries.id", index=True)
    number: Mapped[int] = mapped_column(Integer)
    # Pruning looks for attempts older than the retention.
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(String(REASON_MAX_LENGTH), default=None)
    response_excerpt: Mapped[str | None] = mapped_column(String(EXCERPT_MAX_BYTES), default=None)
