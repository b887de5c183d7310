"""One delivery attempt: claim the pending row, sign and POST its body, record the outcome.

A claim is a lease (`claimed_until`) that outlasts the attempt: the attempt has a hard deadline
(WEBHOOK_ATTEMPT_DEADLINE_SECONDS, however slowly the answer comes), the lease is longer. The
claim is also a fence: the result is written only where the row still carries this claim, so a
stale attempt's late result is discarded. A webhook has at most WEBHOOK_MAX_CONCURRENT_ATTEMPTS
attempts in flight (claims of one webhook are taken under its row lock), and after a timeout, a
connection error or a 5xx it is paused as a whole: its other deliveries wait with it. No
database transaction stays open while the request is on the wire.
"""

import base64
import hashlib
import hmac
import logging
import os
import random
import socket
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from flask import current_app
from requests.adapters import HTTPAdapter
from sqlalchemy import exists, func, insert, literal, or_, select, update
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from app.extensions import db
from app.metrics import webhook_attempt_duration, webhook_deliveries, webhook_delivery_lag
from app.types import utcnow
from blueprints.clients.models import Client

from .models import (
    DELIVERED,
    EXCERPT_MAX_BYTES,
    FAILED,
    PENDING,
    REASON_MAX_LENGTH,
    SECRET_TAG,
    Delivery,
    DeliveryAttempt,
    Webhook,
)
from .secrets import decrypt_secret
from .targets import GUARDED_POOL_CLASSES, TargetRefused, loggable_url, split_target

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = {408, 425, 429}  # and every 5xx
USER_AGENT = "Conduit-Webhooks/{release}"
SKIPPED = "skipped"
MINIMUM_TIMEOUT = 0.001  # seconds: a timeout of 0 would mean "do not block" to a socket


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
class Claim:
    """What a claimed delivery needs on the wire, read before its transaction ends."""

    delivery_id: int
    webhook_id: int
    message_id: str
    event: str
    url: str
    secrets: tuple[str, ...]  # each signs: the current secret, and the old one after a rotation
    payload: str
    number: int
    claimed_until: datetime  # with `number`, the fence: the row is ours while both match
    failures_before: int  # the webhook's run of failed deliveries when this attempt began
    failing_attempts: int  # the webhook's run of retryable failed attempts then
    created_at: datetime  # when the change that caused it committed (its outbox row)


@dataclass(frozen=True)
class Response:
    """The outcome of one POST: a status code, or an error, and whether to try again."""

    started_at: datetime
    duration: float  # seconds, connect to the last byte read
    status_code: int | None = None
    error: str | None = None
    retryable: bool = False
    retry_after: float | None = None
    excerpt: str | None = None  # the start of the answer's body (EXCERPT_MAX_BYTES at most)

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def describe(self) -> str:
        return f"HTTP {self.status_code}" if self.status_code is not None else str(self.error)


@dataclass(frozen=True)
class Outcome:
    """What became of a delivery after an attempt; `retry_in` seconds when to try again.

    `webhook_id` is set when an attempt was made: its slot is free for the webhook's next one.
    `paused_for` is set when the attempt paused the webhook: seconds until its pause ends.
    """

    status: str
    retry_in: float | None = None
    webhook_id: int | None = None
    reason: str | None = None  # why it was skipped
    paused_for: float | None = None


_local = threading.local()

# The statements of every attempt work on the tables (Core), not the ORM classes: an attempt is
# a handful of single-row statements, and the ORM's bookkeeping would cost more than they do.
DELIVERIES = Delivery.__table__
WEBHOOKS = Webhook.__table__
CLIENTS = Client.__table__
ATTEMPTS = DeliveryAttempt.__table__


class Deadline:
    """Cuts the attempt's connection when its time is up, whatever the receiver does.

    Socket timeouts bound each read, not the attempt: a receiver answering a byte a second
    (or trickling its TLS handshake) never trips them. A timer shuts the connection down at the
    deadline, which ends the blocked read at once; the request then fails as timed out. What
    has no socket yet (resolving the name, connecting) is given what is left of the time.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._ends_at = time.monotonic() + seconds
        self._duplicates: list[socket.socket] = []
        self._lock = threading.Lock()
        self._finished = False
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def __enter__(self) -> "Deadline":
        self._ends_at = time.monotonic() + self.seconds
        _local.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        with self._lock:
            self._finished = True
            for duplicate in self._duplicates:
                duplicate.close()
        self._timer.cancel()
        _local.deadline = None

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self._ends_at

    def left(self, timeout: float | None) -> float:
        """`timeout`, or what is left of the attempt's time if that is less."""
        left = max(self._ends_at - time.monotonic(), MINIMUM_TIMEOUT)
        return left if timeout is None else min(timeout, left)

    def watch(self, sock: socket.socket | None) -> None:
        """Cut `sock`'s connection too when the time is up (at once if it already is).

        The timer shuts down a duplicate of its file descriptor: that ends the connection for
        every object using it, also the TLS socket that wraps (and detaches) this one.
        """
        if sock is None:
            return
        try:
            duplicate = socket.socket(fileno=os.dup(sock.fileno()))
        except OSError:
            return  # closed already
        with self._lock:
            if self._finished:
                duplicate.close()
                return
            self._duplicates.append(duplicate)
            if self.expired:
                _shut_down(duplicate)

    def _cut(self) -> None:
        with self._lock:
            if not self._finished:
                for duplicate in self._duplicates:
                    _shut_down(duplicate)


def _shut_down(sock: socket.socket) -> None:
    with suppress(OSError):  # the connection ended already
        sock.shutdown(socket.SHUT_RDWR)


def _current_deadline() -> Deadline | None:
    return getattr(_local, "deadline", None)


class DeadlineConnection:
    """Mixed into urllib3's connections: the current attempt's deadline bounds resolving and
    connecting, and watches their sockets (a new one as soon as it is connected, before TLS; a
    kept-alive one when a request starts on it)."""

    def _new_conn(self):
        deadline = _current_deadline()
        if deadline is None:
            return super()._new_conn()  # type: ignore[misc]
        self.timeout = deadline.left(self.timeout)  # type: ignore[has-type]
        sock = super()._new_conn()  # type: ignore[misc]
        deadline.watch(sock)
        return sock

    def request(self, *args, **kwargs):
        deadline = _current_deadline()
        if deadline is not None:
            deadline.watch(self.sock)  # type: ignore[attr-defined]
        return super().request(*args, **kwargs)  # type: ignore[misc]


def with_deadline(pool_class: type) -> type:
    """`pool_class` with connections the attempt's deadline can cut."""
    connection_class = type(
        pool_class.ConnectionCls.__name__ + "WithDeadline",
        (DeadlineConnection, pool_class.ConnectionCls),
        {},
    )
    return type(
        pool_class.__name__ + "WithDeadline", (pool_class,), {"ConnectionCls": connection_class}
    )


POOL_CLASSES = {
    "open": {
        "http": with_deadline(HTTPConnectionPool),
        "https": with_deadline(HTTPSConnectionPool),
    },
    # The guarded pools also check the address each connection reached (see targets.py).
    "guarded": {scheme: with_deadline(pool) for scheme, pool in GUARDED_POOL_CLASSES.items()},
}


class DeliveryAdapter(HTTPAdapter):
    """Connections with a deadline, guarded or not."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = POOL_CLASSES[self.kind]


def http_session(guarded: bool) -> requests.Session:
    """This thread's HTTP session (connections are kept alive between deliveries)."""
    kind = "guarded" if guarded else "open"
    session = getattr(_local, kind, None)
    if session is None:
        session = requests.Session()
        session.trust_env = False  # no proxies or .netrc from the environment
        session.mount("http://", DeliveryAdapter(kind))
        session.mount("https://", DeliveryAdapter(kind))
        setattr(_local, kind, session)
    return session


def post(claim: Claim) -> Response:
    """POST the signed body to the webhook's URL, within the attempt's deadline: no redirects,
    TLS verified, at most EXCERPT_MAX_BYTES of the answer read."""
    config = current_app.config
    allow_private = config["WEBHOOK_ALLOW_PRIVATE_TARGETS"]
    body = claim.payload.encode("utf-8")
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT.format(release=config["RELEASE"]),
        "webhook-id": claim.message_id,
        "webhook-timestamp": str(timestamp),
        # Standard Webhooks: several signatures, space-separated; a receiver needs one to match.
        "webhook-signature": " ".join(
            sign(secret, claim.message_id, timestamp, body) for secret in claim.secrets
        ),
    }
    seconds = config["WEBHOOK_ATTEMPT_DEADLINE_SECONDS"]
    timeout = (
        min(config["WEBHOOK_CONNECT_TIMEOUT_SECONDS"], seconds),
        min(config["WEBHOOK_READ_TIMEOUT_SECONDS"], seconds),
    )
    started_at, started = utcnow(), time.monotonic()

    def answered(**outcome) -> Response:
        return Response(started_at=started_at, duration=time.monotonic() - started, **outcome)

    deadline = Deadline(seconds)
    try:
        split_target(claim.url)
        with (
            deadline,
            http_session(guarded=not allow_private).post(
                claim.url,
                data=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                verify=config["WEBHOOK_CA_FILE"] or True,
                stream=True,
            ) as response,
        ):
            # Only the status matters; a little of the body helps whoever reads the history.
            start = next(response.iter_content(EXCERPT_MAX_BYTES), b"")[:EXCERPT_MAX_BYTES]
            if deadline.expired:
                raise requests.Timeout("deadline")
            status = response.status_code
            retry_after = _retry_after(response.headers.get("Retry-After"))
    except TargetRefused as refused:
        return answered(error=f"refused: {refused}")
    except requests.RequestException as error:
        if deadline.expired:
            return answered(error=f"timed out after {seconds:g} s", retryable=True)
        if isinstance(error, requests.Timeout):
            return answered(error="timed out", retryable=True)
        if isinstance(error, requests.ConnectionError):
            return answered(error=f"connection failed: {_root_cause(error)}", retryable=True)
        return answered(error=f"request failed: {_root_cause(error)}")
    retryable = status in RETRYABLE_STATUSES or status >= 500
    excerpt = start.decode("utf-8", errors="replace") if start else None
    return answered(
        status_code=status, retryable=retryable, retry_after=retry_after, excerpt=excerpt
    )


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


def _unclaimed(now: datetime):
    return or_(DELIVERIES.c.claimed_until.is_(None), DELIVERIES.c.claimed_until <= now)


def _not_paused(now: datetime):
    return or_(WEBHOOKS.c.paused_until.is_(None), WEBHOOKS.c.paused_until <= now)


def in_flight(now: datetime):
    """How many deliveries of the webhook in the query are claimed right now (a subquery)."""
    busy = DELIVERIES.alias("busy")
    return (
        select(func.count())
        .select_from(busy)
        .where(
            busy.c.webhook_id == WEBHOOKS.c.id,
            busy.c.status == PENDING,
            busy.c.claimed_until > now,
        )
        .correlate(WEBHOOKS)
        .scalar_subquery()
    )


def _claim_row(message_id: str, now: datetime):
    """The delivery with what its claim depends on: its webhook, client, attempts in flight."""
    return db.session.execute(
        select(
            DELIVERIES.c.id,
            DELIVERIES.c.webhook_id,
            DELIVERIES.c.event,
            DELIVERIES.c.payload,
            DELIVERIES.c.attempts,
            DELIVERIES.c.created_at,
            DELIVERIES.c.status,
            DELIVERIES.c.next_attempt_at,
            DELIVERIES.c.claimed_until,
            WEBHOOKS.c.url,
            WEBHOOKS.c.secret,
            WEBHOOKS.c.previous_secret,
            WEBHOOKS.c.previous_secret_until,
            WEBHOOKS.c.enabled,
            WEBHOOKS.c.consecutive_failures,
            WEBHOOKS.c.failing_attempts,
            WEBHOOKS.c.paused_until,
            CLIENTS.c.revoked_at,
            in_flight(now).label("in_flight"),
        )
        .select_from(
            DELIVERIES.join(WEBHOOKS, DELIVERIES.c.webhook_id == WEBHOOKS.c.id).join(
                CLIENTS, WEBHOOKS.c.client_id == CLIENTS.c.id
            )
        )
        .where(DELIVERIES.c.message_id == message_id)
    ).one_or_none()


def _not_now(row, now: datetime) -> str | None:
    """Why the delivery cannot be attempted now (None if it can)."""
    if row is None or row.status != PENDING:
        return "not pending"
    if row.next_attempt_at > now:
        return "not due"
    if row.claimed_until is not None and row.claimed_until > now:
        return "claimed"
    if row.enabled and row.revoked_at is None:
        if row.paused_until is not None and row.paused_until > now:
            return "webhook paused"
        if row.in_flight >= current_app.config["WEBHOOK_MAX_CONCURRENT_ATTEMPTS"]:
            return "webhook busy"
    return None


def claim(message_id: str) -> Claim | Outcome:
    """Take the pending, due, unclaimed delivery `message_id` for one attempt, if its webhook
    has a free slot and is not paused; else the Outcome that says why not."""
    now = utcnow()
    # A plain read first: most refusals (busy, paused, taken) cost no lock.
    row = _claim_row(message_id, now)
    db.session.rollback()  # the claim's own reads must start once the webhook's lock is held
    reason = _not_now(row, now)
    if reason is not None:
        return Outcome(SKIPPED, reason=reason)
    # The webhook's row lock orders the claims of its deliveries: the count of attempts in
    # flight cannot change before this transaction ends. Lock order: webhook, then delivery.
    locked = db.session.execute(
        update(WEBHOOKS)
        .where(WEBHOOKS.c.id == row.webhook_id)
        .values(failing_attempts=WEBHOOKS.c.failing_attempts)
    ).rowcount
    row = _claim_row(message_id, now) if locked else None
    reason = _not_now(row, now)
    if reason is not None:
        db.session.rollback()
        return Outcome(SKIPPED, reason=reason)
    if not row.enabled or row.revoked_at is not None:
        reason = "webhook is disabled" if not row.enabled else "client has been revoked"
        db.session.execute(
            update(DELIVERIES)
            .where(DELIVERIES.c.id == row.id)
            .values(status=FAILED, last_error=reason, claimed_until=None)
        )
        db.session.commit()
        log.info("webhook delivery %s (%s) not sent: %s", message_id, row.event, reason)
        return Outcome(SKIPPED, reason=reason)
    lease = timedelta(seconds=current_app.config["WEBHOOK_DELIVERY_LEASE_SECONDS"])
    claimed_until = now + lease
    taken = db.session.execute(
        update(DELIVERIES)
        .where(
            DELIVERIES.c.id == row.id,
            DELIVERIES.c.status == PENDING,
            DELIVERIES.c.next_attempt_at <= now,
            _unclaimed(now),
        )
        .values(
            claimed_until=claimed_until, attempts=DELIVERIES.c.attempts + 1, last_attempt_at=now
        )
    ).rowcount
    if not taken:
        db.session.rollback()
        return Outcome(SKIPPED, reason="claimed")
    db.session.commit()
    return Claim(
        delivery_id=row.id,
        webhook_id=row.webhook_id,
        message_id=message_id,
        event=row.event,
        url=row.url,
        secrets=signing_secrets(row, now),
        payload=row.payload,
        number=row.attempts + 1,
        claimed_until=claimed_until,
        failures_before=row.consecutive_failures,
        failing_attempts=row.failing_attempts,
        created_at=row.created_at,
    )


def signing_secrets(row, now: datetime) -> tuple[str, ...]:
    """The secrets a delivery is signed with: the current one, and the previous one while its
    overlap window after a rotation lasts."""
    secrets = [decrypt_secret(row.secret)]
    until = row.previous_secret_until
    if row.previous_secret is not None and until is not None and until > now:
        secrets.append(decrypt_secret(row.previous_secret))
    return tuple(secrets)


def record(claim: Claim, response: Response) -> Outcome:
    """Write what the attempt achieved, if the claim still holds: the delivery's state, the
    webhook's runs of failures (maybe a pause, maybe disabling it), and the attempt's row.

    The one place where an attempt's outcome and duration are known together.
    """
    config = current_app.config
    now = utcnow()
    values: dict = {
        "claimed_until": None,
        "last_status_code": response.status_code,
        "last_error": response.error[:REASON_MAX_LENGTH] if response.error else None,
    }
    webhook_values: dict = {}
    if response.succeeded:
        outcome = Outcome(DELIVERED, webhook_id=claim.webhook_id)
        values.update(status=DELIVERED, delivered_at=now)
        webhook_values.update(consecutive_failures=0, failing_attempts=0, paused_until=None)
    elif response.retryable:
        # The webhook backs off as a whole: its run of failing attempts sets the pause.
        delay = retry_delay(
            max(claim.number, claim.failing_attempts + 1),
            config["WEBHOOK_RETRY_BASE_SECONDS"],
            config["WEBHOOK_RETRY_MAX_SECONDS"],
            response.retry_after,
        )
        webhook_values.update(
            failing_attempts=WEBHOOKS.c.failing_attempts + 1,
            paused_until=now + timedelta(seconds=delay),
        )
        if claim.number < config["WEBHOOK_MAX_ATTEMPTS"]:
            outcome = Outcome(
                PENDING, retry_in=delay, webhook_id=claim.webhook_id, paused_for=delay
            )
            values.update(next_attempt_at=now + timedelta(seconds=delay))
        else:
            outcome = Outcome(FAILED, webhook_id=claim.webhook_id, paused_for=delay)
            values.update(status=FAILED)
    else:
        outcome = Outcome(FAILED, webhook_id=claim.webhook_id)
        values.update(status=FAILED)
    if outcome.status == FAILED:
        webhook_values.update(consecutive_failures=WEBHOOKS.c.consecutive_failures + 1)
    # Lock order as in claim(): the webhook's row first, then the delivery's.
    db.session.execute(
        update(WEBHOOKS)
        .where(WEBHOOKS.c.id == claim.webhook_id)
        .values(**(webhook_values or {"failing_attempts": WEBHOOKS.c.failing_attempts}))
    )
    # Only while our claim holds: a worker that outlived its lease must not overwrite another's.
    kept = db.session.execute(
        update(DELIVERIES)
        .where(
            DELIVERIES.c.id == claim.delivery_id,
            DELIVERIES.c.claimed_until == claim.claimed_until,
            DELIVERIES.c.attempts == claim.number,
        )
        .values(**values)
    ).rowcount
    if not kept:
        db.session.rollback()  # the webhook's counts too: this result is not the delivery's
        outcome = Outcome("lost claim", webhook_id=claim.webhook_id)
    elif outcome.status == FAILED:
        disable_after_failures(claim.webhook_id, response.describe())
    # The request was made either way: the history keeps it (unless the delivery is gone).
    row = attempt_row(claim, response)
    db.session.execute(
        insert(ATTEMPTS).from_select(
            list(row),
            select(*(literal(value, ATTEMPTS.c[name].type) for name, value in row.items())).where(
                exists().where(DELIVERIES.c.id == claim.delivery_id)
            ),
        )
    )
    db.session.commit()
    _log_attempt(claim, response, outcome)
    count_attempt(claim, response, outcome)
    return outcome


def attempt_row(claim: Claim, response: Response) -> dict:
    """The history row of one attempt."""
    return {
        "delivery_id": claim.delivery_id,
        "number": claim.number,
        "started_at": response.started_at,
        "duration_ms": round(response.duration * 1000),
        "status_code": response.status_code,
        "error": response.error[:REASON_MAX_LENGTH] if response.error else None,
        "response_excerpt": response.excerpt,
    }


def disable_after_failures(webhook_id: int, last_error: str) -> None:
    """After too many deliveries failed for good in a row, disable the webhook."""
    webhook = db.session.get(Webhook, webhook_id, populate_existing=True)
    limit = current_app.config["WEBHOOK_DISABLE_AFTER_FAILURES"]
    if webhook is not None and webhook.enabled and webhook.consecutive_failures >= limit:
        webhook.enabled = False
        reason = f"disabled after {webhook.consecutive_failures} failed deliveries in a row"
        webhook.disabled_reason = f"{reason}; the last: {last_error}"[:REASON_MAX_LENGTH]
        log.warning("webhook %s %s", webhook_id, webhook.disabled_reason)


def count_attempt(claim: Claim, response: Response, outcome: Outcome) -> None:
    """The attempt in the metrics: its duration, its outcome, and once delivered the lag from
    the commit that caused the event."""
    webhook_attempt_duration.observe(response.duration)
    if outcome.status == DELIVERED:
        webhook_deliveries.labels(claim.event, "delivered").inc()
        webhook_delivery_lag.observe((utcnow() - claim.created_at).total_seconds())
    elif outcome.retry_in is not None:
        webhook_deliveries.labels(claim.event, "retry").inc()
    elif outcome.status == FAILED:
        webhook_deliveries.labels(claim.event, "failed").inc()


def _log_attempt(claim: Claim, response: Response, outcome: Outcome) -> None:
    if outcome.status == DELIVERED:
        result = "delivered"
    elif outcome.retry_in is not None:
        result = f"will retry in {outcome.retry_in:.2f}s"
    elif outcome.status == FAILED:
        result = "failed for good"
    else:
        result = "result discarded: the claim ran out and was taken again"
    log.log(
        logging.INFO if response.succeeded else logging.WARNING,
        "webhook delivery %s (%s) attempt %d to %s: %s in %.3fs, %s",
        claim.message_id,
        claim.event,
        claim.number,
        loggable_url(claim.url),
        response.describe(),
        response.duration,
        result,
    )


def attempt_delivery(message_id: str) -> Outcome:
    """Make one attempt at delivering `message_id`, if it is pending, due and unclaimed and its
    webhook has a free slot."""
    taken = claim(message_id)
    if isinstance(taken, Outcome):
        return taken
    return record(taken, post(taken))


def next_due(webhook_id: int, limit: int) -> list[str]:
    """Message ids of the webhook's oldest due, unclaimed deliveries (none while it is paused)."""
    now = utcnow()
    message_ids = db.session.scalars(
        select(DELIVERIES.c.message_id)
        .select_from(DELIVERIES.join(WEBHOOKS, DELIVERIES.c.webhook_id == WEBHOOKS.c.id))
        .where(
            DELIVERIES.c.webhook_id == webhook_id,
            DELIVERIES.c.status == PENDING,
            DELIVERIES.c.next_attempt_at <= now,
            _unclaimed(now),
            _not_paused(now),
            WEBHOOKS.c.enabled.is_(True),
        )
        .order_by(DELIVERIES.c.next_attempt_at, DELIVERIES.c.id)
        .limit(limit)
    ).all()
    db.session.rollback()
    return list(message_ids)
