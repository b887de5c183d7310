"""Writing under concurrency: every service's retry and savepoint logic lives here.

A unique index decides who wins a race (two registrations of one email, two "Hello" slugs, a
double favorite): the loser's write fails with an IntegrityError. `write_in_savepoint` runs
such a write in a savepoint, so the loser's transaction survives and the service decides
what the clash means (a 422, the next slug candidate, or nothing at all).
"""

from collections.abc import Callable

from sqlalchemy.exc import IntegrityError

from .extensions import db


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
