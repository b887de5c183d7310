"""One delivery attempt: claim the pending row, sign and POST its body, record the outcome.

A claim is a lease (`claimed_until`): while a worker sends, no other worker takes the same
delivery; a worker killed mid-send lets it go when the lease runs out, and the sweep hands it
over again. No database transaction stays open while the request is on the wire.
"""

import base64
import hashlib
import hmac
import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from flask import current_app
from requests.adapters import HTTPAdapter
from sqlalchemy import or_, select, update

from app.extensions import db
from app.types import utcnow
from blueprints.clients.models import Client

from .models import DELIVERED, FAILED, PENDING, REASON_MAX_LENGTH, SECRET_TAG, Delivery, Webhook
from .targets import GUARDED_POOL_CLASSES, TargetRefused, split_target

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = {408, 425, 429}  # and every 5xx
RESPONSE_READ_LIMIT = 64 * 1024
USER_AGENT = "Conduit-Webhooks/{release}"


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks signature: v1,base64(HMAC-SHA256(key, "id.timestamp.body"))."""
    key = base64.b64decode(secret.removeprefix(SECRET_TAG))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def retry_delay(attempt: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """Seconds before attempt `attempt + 1`: exponential from `base`, capped, half of it jitter.

    A receiver's Retry-After (429, 503) is honoured up to the cap.
    """
    exponential = min(cap, base * 2 ** (attempt - 1))
    delay = exponential / 2 + random.uniform(0, exponential / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay


@dataclass(frozen=True)
class Attempt:
    """What a claimed delivery needs on the wire, read before its transaction ends."""

    delivery_id: int
    webhook_id: int
    message_id: str
    event: str
    url: str
    secret: str
    payload: str
    number: int
    claimed_until: datetime
    failures_before: int  # the webhook's run of failed deliveries when this attempt began


@dataclass(frozen=True)
class Response:
    """The outcome of one POST: a status code, or an error, and whether to try again."""

    status_code: int | None = None
    error: str | None = None
    retryable: bool = False
    retry_after: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def describe(self) -> str:
        return f"HTTP {self.status_code}" if self.status_code is not None else str(self.error)


@dataclass(frozen=True)
class Outcome:
    """What became of a delivery after an attempt; `retry_in` seconds when to try again."""

    status: str
    retry_in: float | None = None


_local = threading.local()

# The statements of every attempt work on the tables (Core), not the ORM classes: an attempt is
# a handful of single-row statements, and the ORM's bookkeeping would cost more than they do.
DELIVERIES = Delivery.__table__
WEBHOOKS = Webhook.__table__
CLIENTS = Client.__table__


class GuardedAdapter(HTTPAdapter):
    """Checks the address every new connection reached (see targets.py)."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = GUARDED_POOL_CLASSES


def http_session(guarded: bool) -> requests.Session:
    """This thread's HTTP session (connections are kept alive between deliveries)."""
    name = "guarded" if guarded else "open"
    session = getattr(_local, name, None)
    if session is None:
        session = requests.Session()
        session.trust_env = False  # no proxies or .netrc from the environment
        if guarded:
            session.mount("http://", GuardedAdapter())
            session.mount("https://", GuardedAdapter())
        setattr(_local, name, session)
    return session


def post(attempt: Attempt) -> Response:
    """POST the signed body to the webhook's URL: timeouts, no redirects, TLS verified."""
    config = current_app.config
    allow_private = config["WEBHOOK_ALLOW_PRIVATE_TARGETS"]
    body = attempt.payload.encode("utf-8")
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT.format(release=config["RELEASE"]),
        "webhook-id": attempt.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(attempt.secret, attempt.message_id, timestamp, body),
    }
    timeout = (config["WEBHOOK_CONNECT_TIMEOUT_SECONDS"], config["WEBHOOK_READ_TIMEOUT_SECONDS"])
    try:
        # The guarded session checks the address each connection reaches (targets.py).
        split_target(attempt.url)
        with http_session(guarded=not allow_private).post(
            attempt.url,
            data=body,
            headers=headers,
            timeout=timeout,
            allow_redirects=False,
            verify=True,
            stream=True,
        ) as response:
            read = 0
            for chunk in response.iter_content(8192):
                read += len(chunk)
                if read >= RESPONSE_READ_LIMIT:
                    break  # we only need the status; the connection is dropped
            status = response.status_code
            retry_after = _retry_after(response.headers.get("Retry-After"))
    except TargetRefused as refused:
        return Response(error=f"refused: {refused}")
    except requests.Timeout:
        return Response(error="timed out", retryable=True)
    except requests.ConnectionError as error:
        return Response(error=f"connection failed: {_root_cause(error)}", retryable=True)
    except requests.RequestException as error:
        return Response(error=f"request failed: {_root_cause(error)}")
    retryable = status in RETRYABLE_STATUSES or status >= 500
    return Response(status_code=status, retryable=retryable, retry_after=retry_after)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: our own backoff will do


def _root_cause(error: BaseException) -> str:
    while error.__cause__ is not None or error.__context__ is not None:
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    text = str(error) or type(error).__name__
    return text[:200]


def claim(message_id: str) -> Attempt | None:
    """Take the pending, due, unclaimed delivery `message_id` for one attempt (None if not)."""
    now = utcnow()
    lease = timedelta(seconds=current_app.config["WEBHOOK_DELIVERY_LEASE_SECONDS"])
    claimed_until = now + lease
    taken = db.session.execute(
        update(DELIVERIES)
        .where(
            DELIVERIES.c.message_id == message_id,
            DELIVERIES.c.status == PENDING,
            DELIVERIES.c.next_attempt_at <= now,
            or_(DELIVERIES.c.claimed_until.is_(None), DELIVERIES.c.claimed_until <= now),
        )
        .values(
            claimed_until=claimed_until, attempts=DELIVERIES.c.attempts + 1, last_attempt_at=now
        )
    ).rowcount
    if not taken:
        db.session.rollback()
        return None
    row = db.session.execute(
        select(
            DELIVERIES.c.id,
            DELIVERIES.c.event,
            DELIVERIES.c.payload,
            DELIVERIES.c.attempts,
            WEBHOOKS.c.id.label("webhook_id"),
            WEBHOOKS.c.url,
            WEBHOOKS.c.secret,
            WEBHOOKS.c.enabled,
            WEBHOOKS.c.consecutive_failures,
            CLIENTS.c.revoked_at,
        )
        .select_from(
            DELIVERIES.join(WEBHOOKS, DELIVERIES.c.webhook_id == WEBHOOKS.c.id).join(
                CLIENTS, WEBHOOKS.c.client_id == CLIENTS.c.id
            )
        )
        .where(DELIVERIES.c.message_id == message_id)
    ).one()
    if not row.enabled or row.revoked_at is not None:
        reason = "webhook is disabled" if not row.enabled else "client has been revoked"
        db.session.execute(
            update(DELIVERIES)
            .where(DELIVERIES.c.id == row.id)
            # Nothing was sent: the claim's attempt does not count.
            .values(status=FAILED, attempts=row.attempts - 1, last_error=reason, claimed_until=None)
        )
        db.session.commit()
        log.info("webhook delivery %s (%s) not sent: %s", message_id, row.event, reason)
        return None
    db.session.commit()
    return Attempt(
        delivery_id=row.id,
        webhook_id=row.webhook_id,
        message_id=message_id,
        event=row.event,
        url=row.url,
        secret=row.secret,
        payload=row.payload,
        number=row.attempts,
        claimed_until=claimed_until,
        failures_before=row.consecutive_failures,
    )


def record(attempt: Attempt, response: Response) -> Outcome:
    """Write what the attempt achieved; count failures against the webhook, maybe disable it."""
    config = current_app.config
    now = utcnow()
    values: dict = {
        "claimed_until": None,
        "last_status_code": response.status_code,
        "last_error": response.error[:REASON_MAX_LENGTH] if response.error else None,
    }
    if response.succeeded:
        outcome = Outcome(DELIVERED)
        values.update(status=DELIVERED, delivered_at=now)
    elif response.retryable and attempt.number < config["WEBHOOK_MAX_ATTEMPTS"]:
        delay = retry_delay(
            attempt.number,
            config["WEBHOOK_RETRY_BASE_SECONDS"],
            config["WEBHOOK_RETRY_MAX_SECONDS"],
            response.retry_after,
        )
        outcome = Outcome(PENDING, retry_in=delay)
        values.update(next_attempt_at=now + timedelta(seconds=delay))
    else:
        outcome = Outcome(FAILED)
        values.update(status=FAILED)
    # Only while our claim holds: a worker that outlived its lease must not overwrite another's.
    kept = db.session.execute(
        update(DELIVERIES)
        .where(
            DELIVERIES.c.id == attempt.delivery_id,
            DELIVERIES.c.claimed_until == attempt.claimed_until,
        )
        .values(**values)
    ).rowcount
    if kept and outcome.status == DELIVERED and attempt.failures_before:
        db.session.execute(
            update(WEBHOOKS)
            .where(WEBHOOKS.c.id == attempt.webhook_id, WEBHOOKS.c.consecutive_failures != 0)
            .values(consecutive_failures=0)
        )
    elif kept and outcome.status == FAILED:
        count_failure(attempt.webhook_id, response.describe())
    db.session.commit()
    _log_attempt(attempt, response, outcome)
    return outcome if kept else Outcome("lost claim")


def count_failure(webhook_id: int, last_error: str) -> None:
    """One more delivery failed for good: disable the webhook after too many in a row."""
    db.session.execute(
        update(Webhook)
        .where(Webhook.id == webhook_id)
        .values(consecutive_failures=Webhook.consecutive_failures + 1)
        .execution_options(synchronize_session=False)
    )
    webhook = db.session.get(Webhook, webhook_id, populate_existing=True)
    limit = current_app.config["WEBHOOK_DISABLE_AFTER_FAILURES"]
    if webhook is not None and webhook.enabled and webhook.consecutive_failures >= limit:
        webhook.enabled = False
        reason = f"disabled after {webhook.consecutive_failures} failed deliveries in a row"
        webhook.disabled_reason = f"{reason}; the last: {last_error}"[:REASON_MAX_LENGTH]
        log.warning("webhook %s %s", webhook_id, webhook.disabled_reason)


def _log_attempt(attempt: Attempt, response: Response, outcome: Outcome) -> None:
    if outcome.status == DELIVERED:
        result = "delivered"
    elif outcome.retry_in is not None:
        result = f"will retry in {outcome.retry_in:.2f}s"
    else:
        result = "failed for good"
    log.log(
        logging.INFO if response.succeeded else logging.WARNING,
        "webhook delivery %s (%s) attempt %d to %s: %s, %s",
        attempt.message_id,
        attempt.event,
        attempt.number,
        attempt.url,
        response.describe(),
        result,
    )


def attempt_delivery(message_id: str) -> Outcome:
    """Make one attempt at delivering `message_id`, if it is pending, due and unclaimed."""
    attempt = claim(message_id)
    if attempt is None:
        return Outcome("skipped")
    return record(attempt, post(attempt))
