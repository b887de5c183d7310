"""Writing under concurrency: every service's retry and savepoint logic lives here.

A unique index decides who wins a race (two registrations of one email, two "Hello" slugs, a
double favorite): the loser's write fails with an IntegrityError. `write_in_savepoint` runs
such a write in a savepoint, so the loser's transaction survives and the service decides
what the clash means (a 422, the next slug candidate, or nothing at all).

A deadlock or a lock-wait timeout retries the whole transaction (the whole view: the app's
`dispatch_request` runs it through `run_retried`), a bounded number of times with jitter.
InnoDB resolves a deadlock by rolling back one of the transactions (1213); a lock wait that
outlasts `innodb_lock_wait_timeout` fails its statement (1205). Either way nothing of the
transaction can be kept, and running it again from the start is what MariaDB asks for.
"""

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError

from .extensions import db

log = logging.getLogger(__name__)
T = TypeVar("T")

DEADLOCK = 1213
LOCK_WAIT_TIMEOUT = 1205
CONTENTION_ERRORS = {DEADLOCK, LOCK_WAIT_TIMEOUT}
# Backoff before retry n: a random pause of up to BASE * 2**n seconds, at most CAP, so the
# transactions that deadlocked together do not start again together.
RETRY_BACKOFF_BASE_SECONDS = 0.02
RETRY_BACKOFF_CAP_SECONDS = 0.5


def database_error_codes(error: BaseException) -> list[int]:
    """The server's error numbers behind `error` and the errors it replaced (a failed ROLLBACK
    TO SAVEPOINT after a deadlock hides the deadlock in its context)."""
    codes, seen = [], set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        args = getattr(getattr(current, "orig", None), "args", ())
        if isinstance(current, DBAPIError) and args and isinstance(args[0], int):
            codes.append(args[0])
        current = current.__cause__ or current.__context__
    return codes


def is_contention(error: BaseException) -> bool:
    """Whether `error` is a deadlock or a lock-wait timeout: the transaction may run again."""
    return any(code in CONTENTION_ERRORS for code in database_error_codes(error))


def retry_backoff(retry: int) -> float:
    """Seconds to wait before retry number `retry` (1, 2, ...): full jitter, capped."""
    return random.uniform(0, min(RETRY_BACKOFF_CAP_SECONDS, RETRY_BACKOFF_BASE_SECONDS * 2**retry))


def run_retried(transaction: Callable[[], T], attempts: int) -> T:
    """Run `transaction` (it commits once, or raises), and run it again from the start when
    the database reports a deadlock or a lock-wait timeout, up to `attempts` runs in all
    (DATABASE_RETRY_ATTEMPTS); the last error is raised."""
    for attempt in range(1, attempts):
        try:
            return transaction()
        except DBAPIError as error:
            if not is_contention(error):
                raise
            db.session.rollback()
            log.info("transaction run again (%d of %d) after %s", attempt + 1, attempts, error.orig)
            time.sleep(retry_backoff(attempt))
    return transaction()


def write_in_savepoint(write: Callable[[], object]) -> IntegrityError | None:
    """Run `write` and flush it in a savepoint: None when it is saved, else the IntegrityError
    that rolled the savepoint back (a unique index refused it); the transaction goes on.
    """
    try:
        with db.session.begin_nested():
            write()
    except IntegrityError as clash:
        return clash
    return None
