"""Idempotency keys (the IETF "Idempotency-Key" header draft): a write sent again with the same
key runs once; the repeats get the first answer again.

A `POST`, `PUT`, `PATCH` or `DELETE` with `Idempotency-Key: <1-255 visible characters>`, by a
user (a token) or a client (X-Client-Key), is claimed before its view runs: a row per owner and
key, committed on its own, which the unique index makes the only one. The view then runs and
marks the row executed in its own transaction (so the mark commits only with the work); the
answer (status and body) is stored after it. A repeat with the same key:

- same method, path and body, answered: gets the stored status and body again, with
  `Idempotent-Replayed: true`, and nothing runs;
- same request still running (two sent at once): waits for the first to finish (up to
  WAIT_SECONDS, polling), then gets its answer; still running then: 409 with Retry-After;
- another method, path or body: 422, nothing runs.

A 5xx answer is not stored (the transaction rolled back: nothing happened), so a repeat runs
again. A claim whose request died before its transaction committed (never marked executed)
is taken over once older than STALE_SECONDS. Keys expire after IDEMPOTENCY_KEY_TTL_SECONDS;
beat prunes them (`idempotency.prune`). Without a token or a client key the header is ignored:
a key must belong to someone.
"""

import hashlib
import logging
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Flask, Response, current_app, g, request
from sqlalchemy import String, UniqueConstraint, delete, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from .errors import ApiError
from .extensions import celery, db
from .types import LongText, UTCDateTime, utcnow

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
METHODS = {"POST", "PUT", "PATCH", "DELETE"}
VALID_KEY = re.compile(r"[\x21-\x7e]{1,255}")
# How long a repeat waits for the first request with its key to finish, polling.
WAIT_SECONDS = 10
POLL_SECONDS = 0.05
# A claim never marked executed and older than this belongs to a request that died before its
# transaction committed (gunicorn kills a request after GUNICORN_TIMEOUT, 30 s): run it again.
STALE_SECONDS = 120
PRUNE_BATCH = 1000


class IdempotentRequest(db.Model):
    """A write sent with an Idempotency-Key, and its answer once it has one."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (UniqueConstraint("owner", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # "user:<id>" or "client:<id>": keys of different owners never meet.
    owner: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of the method, the path with its query and the body.
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    executed: Mapped[bool] = mapped_column(default=False)
    status: Mapped[int | None] = mapped_column(default=None)
    content_type: Mapped[str | None] = mapped_column(String(100), default=None)
    body: Mapped[str | None] = mapped_column(LongText, default=None)


def register_owner(app: Flask, name_owner: Callable[[], str | None]) -> None:
    """A service says whose keys a request's are (users: "user:<id>" of a valid token; clients:
    "client:<id>" of a valid X-Client-Key); the first service that names one wins."""
    app.extensions.setdefault("idempotency_owners", []).append(name_owner)


def request_owner() -> str | None:
    """Whose keys this request's are; None for nobody (the header is then ignored)."""
    for name_owner in current_app.extensions.get("idempotency_owners", []):
        owner = name_owner()
        if owner is not None:
            return owner
    return None


def request_fingerprint() -> str:
    """What makes two requests the same: method, path with query, body."""
    digest = hashlib.sha256(f"{request.method} {request.full_path}\n".encode())
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def stored_response(row: IdempotentRequest) -> Response:
    """The first answer again, marked as a replay."""
    response = Response(row.body or "", status=row.status, content_type=row.content_type)
    if not row.body:
        response.headers.remove("Content-Type")
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _claim(owner: str, key: str, fingerprint: str) -> IdempotentRequest | None:
    """Insert and commit the claim of `key`; None when another request holds it already."""
    now = utcnow()
    ttl = timedelta(seconds=current_app.config["IDEMPOTENCY_KEY_TTL_SECONDS"])
    claim = IdempotentRequest(
        owner=owner, key=key, fingerprint=fingerprint, created_at=now, expires_at=now + ttl
    )
    try:
        db.session.add(claim)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return claim


def _current(owner: str, key: str) -> IdempotentRequest | None:
    """The row of `key` as committed now (a fresh transaction: no older snapshot)."""
    db.session.rollback()
    query = select(IdempotentRequest).filter_by(owner=owner, key=key)
    row = db.session.scalar(query.execution_options(populate_existing=True))
    if row is not None:
        db.session.expunge(row)  # keeps what was read: a rollback would expire it
    db.session.rollback()
    return row


def _forget(row: IdempotentRequest) -> None:
    db.session.execute(delete(IdempotentRequest).where(IdempotentRequest.id == row.id))
    db.session.commit()


def begin_idempotent_request() -> Response | None:
    """Before a write's view: claim its key, or answer a repeat (replay, 409, 422)."""
    if request._get_current_object().method not in METHODS:
        return None
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not VALID_KEY.fullmatch(key):
        raise ApiError(422, "must be 1 to 255 visible ASCII characters", field=HEADER)
    owner = request_owner()
    if owner is None:
        return None
    fingerprint = request_fingerprint()
    deadline, waited = time.monotonic() + WAIT_SECONDS, False
    while True:
        claim = _claim(owner, key, fingerprint)
        if claim is not None:
            g.idempotent_request_id = claim.id
            return None
        row = _current(owner, key)
        if row is None:
            continue  # its request failed and let go of it meanwhile: claim it
        if row.expires_at <= utcnow() or (
            not row.executed
            and row.status is None
            and row.created_at <= utcnow() - timedelta(seconds=STALE_SECONDS)
        ):
            _forget(row)
            continue
        if row.fingerprint != fingerprint:
            raise ApiError(422, "was already used for another request", field=HEADER)
        if row.status is not None:
            return stored_response(row)
        if not waited:
            log.info("waiting for the request holding idempotency key %r to finish", key)
            waited = True
        if time.monotonic() >= deadline:
            raise ApiError(
                409,
                "is in use by a request still running",
                field=HEADER,
                headers={"Retry-After": "1"},
            )
        time.sleep(POLL_SECONDS)


def mark_executed() -> None:
    """In the view's transaction: its work and this mark commit together, or neither."""
    claim_id = g._get_current_object().get("idempotent_request_id")
    if claim_id is not None:
        db.session.execute(
            update(IdempotentRequest).where(IdempotentRequest.id == claim_id).values(executed=True)
        )


def finish_idempotent_request(response: Response) -> Response:
    """After a claimed write's view: store its answer; a 5xx lets go of the key instead."""
    claim_id = g._get_current_object().pop("idempotent_request_id", None)
    if claim_id is None:
        return response
    stored = response.status_code < 500
    try:
        db.session.rollback()  # whatever the view left open (an error's transaction)
        if stored:
            body = response.get_data(as_text=True)
            db.session.execute(
                update(IdempotentRequest)
                .where(IdempotentRequest.id == claim_id)
                .values(
                    status=response.status_code,
                    content_type=response.content_type if body else None,
                    body=body,
                )
            )
        else:
            db.session.execute(delete(IdempotentRequest).where(IdempotentRequest.id == claim_id))
        db.session.commit()
    except DBAPIError:
        # The answer stands; the key stays claimed (a repeat waits, then gets a 409) until
        # it is stale or expires.
        db.session.rollback()
        log.warning("the answer to a request with an idempotency key could not be stored")
    return response


def release_unfinished_claim(error: BaseException | None) -> None:
    """A request that ended without an answer (an exception no handler took) lets go."""
    claim_id = g._get_current_object().pop("idempotent_request_id", None)
    if claim_id is None:
        return
    try:
        db.session.rollback()
        db.session.execute(delete(IdempotentRequest).where(IdempotentRequest.id == claim_id))
        db.session.commit()
    except DBAPIError:
        db.session.rollback()
        log.warning("an idempotency key could not be released: it frees up once stale")


@celery.task(name="idempotency.prune")
def prune_expired_keys() -> int:
    """Delete expired idempotency keys, a batch per transaction; how many went."""
    pruned = 0
    while True:
        batch = select(IdempotentRequest.id).where(IdempotentRequest.expires_at <= utcnow())
        ids = list(db.session.scalars(batch.limit(PRUNE_BATCH)))
        if not ids:
            break
        db.session.execute(delete(IdempotentRequest).where(IdempotentRequest.id.in_(ids)))
        db.session.commit()
        pruned += len(ids)
    if pruned:
        log.info("pruned %d expired idempotency keys", pruned)
    return pruned


def init_idempotency(app: Flask) -> None:
    """Honour Idempotency-Key on the writes of `app` (after its other before_request hooks)."""
    app.before_request(begin_idempotent_request)
    app.after_request(finish_idempotent_request)
    app.teardown_request(release_unfinished_claim)
