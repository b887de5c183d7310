"""Column selects of the services' hottest reads, run past the ORM's execution layer."""

from typing import Any

from sqlalchemy import Row, Select

from .extensions import db
from .sessions import sessionless_reader


def read(statement: Select, parameters: dict[str, Any]) -> list[Row]:
    """The rows of a read: on a connection of the autocommit pool when the request has not
    used the session (app.sessions.sessionless_reader; the connection goes back at once), else
    on the session's connection (its pending changes flushed first, as the session would): the
    ORM's execution layer, which column selects do not need, cost some 45,000 instructions per
    statement (about 1% of an uncached page)."""
    reader = sessionless_reader(db.session.registry)
    if reader is not None:
        with reader.connect() as connection:
            return connection.execute(statement, parameters).all()
    session = db.session()
    session.flush()
    return session.connection().execute(statement, parameters).all()


def read_first(statement: Select, parameters: dict[str, Any]) -> Row | None:
    """The first row of a read (see `read`), None when there is none."""
    rows = read(statement, parameters)
    return rows[0] if rows else None
