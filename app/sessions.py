"""The session class of `db`: it sends the reads of a request to the replica chosen for it
(app/replicas.py), and notes that a request committed."""

from flask import g, has_app_context, has_request_context
from flask_sqlalchemy.session import Session
from sqlalchemy import event


class RoutingSession(Session):
    """The session of `db`: a read of a request routed to a replica goes there, any write (and
    a flush) to the primary; everything else as Flask-SQLAlchemy decides."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and not self._flushing and not getattr(clause, "is_dml", False):
            replica = g.get("database_replica") if has_app_context() else None
            if replica is not None:
                return replica.engine
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


@event.listens_for(RoutingSession, "after_commit")
def _note_commit(session) -> None:
    if has_request_context():
        g.database_committed = True
