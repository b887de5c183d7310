"""The session of `db`: it sends the reads of a request to the replica chosen for it
(app/replicas.py), or those of a GET or HEAD to the autocommit pool (app/engines.py), and notes
that a request committed."""

from flask import current_app, g, has_app_context, has_request_context, request
from flask_sqlalchemy.session import Session
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .engines import READ_ENGINE

READ_METHODS = frozenset({"GET", "HEAD"})  # the methods that only read (app-wide)
WROTE = "conduit_wrote"  # session.info: the session wrote; its reads go where its writes are


class RoutingSession(Session):
    """The session of `db`: a read of a request routed to a replica goes there, a read of a GET
    or HEAD that has not written to the autocommit pool, any write (and a flush) and a locking
    read to the primary; everything else as Flask-SQLAlchemy decides."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None:
            if self._flushing or getattr(clause, "is_dml", False):
                self.info[WROTE] = True
            elif has_app_context():
                replica = g.get("database_replica")
                if replica is not None:
                    return replica.engine
                reader = current_app.extensions.get(READ_ENGINE)
                if reader is not None and self._reads_without_transaction(clause):
                    return reader
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)

    def _reads_without_transaction(self, clause) -> bool:
        return (
            has_request_context()
            and request.method in READ_METHODS
            and not self.info.get(WROTE)
            and getattr(clause, "_for_update_arg", None) is None
        )


@event.listens_for(RoutingSession, "after_commit")
def _note_commit(session) -> None:
    if has_request_context():
        g.database_committed = True


def sessionless_reader(session_registry) -> Engine | None:
    """The autocommit pool a read of this request may run on without the session (which costs
    some 50 µs of CPU a request to open and close around one statement): in a GET or HEAD
    that has not used the session (nothing to flush, no write to see) and reads no replica.
    None otherwise: the session reads, routed as above."""
    if not has_request_context() or request.method not in READ_METHODS:
        return None
    if session_registry.has() or g.get("database_replica") is not None:
        return None
    return current_app.extensions.get(READ_ENGINE)
