"""The floor of an uncached list page for bench/api.py: a bare Flask app that answers
`GET /api/articles?limit=N&offset=M` as Conduit does, doing only what no implementation can skip.

Served by the same gunicorn settings as Conduit (GUNICORN_APP="bench.floor_app:create_app()"),
each request runs Conduit's own page statement (blueprints/articles/queries.py) on an
autocommit pool of the same driver, from the nearest of the list's positions (all found once,
at start, and never checked again), and writes the rows with Conduit's article_output and JSON
provider. What it leaves out is what Conduit adds to that: the query string's validation, the
session and its routing, the read cache's generation (a Redis GET), the total (a constant
here), the request's logging context, error handling and the metrics' hooks. Conduit's share of
this app's req/s is how close its uncached list is to what Flask and MariaDB allow here.
"""

import os

from flask import Flask, request
from sqlalchemy import create_engine

from app.responses import FastJSONProvider
from blueprints.articles.queries import POSITION_STRIDE, _position_statement, page_statement
from blueprints.articles.serializers import article_summary_output
from config.base import database_url


def create_app() -> Flask:
    """A Flask app whose `GET /api/articles` answers a page of the whole list, anonymous."""
    app = Flask(__name__)
    app.json = FastJSONProvider(app)
    engine = create_engine(
        database_url(os.environ["DATABASE_URL"]),
        isolation_level="AUTOCOMMIT",
        skip_autocommit_rollback=True,
        pool_reset_on_return=None,
    )
    statement = page_statement(frozenset(), viewed=False, with_total=False, from_position=True)
    with engine.connect() as connection:
        positions = list_positions(connection)
    total = len(positions) * POSITION_STRIDE  # a constant: not what is measured

    @app.get("/api/articles")
    def list_articles():
        limit = int(request.args.get("limit", 20))
        offset = int(request.args.get("offset", 0))
        position_at, position_id = positions[offset // POSITION_STRIDE]
        parameters = {
            "position_at": position_at,
            "position_id": position_id,
            "limit": limit,
            "offset": offset % POSITION_STRIDE,
        }
        with engine.connect() as connection:
            rows = connection.execute(statement, parameters).all()
        return {"articles": [article_summary_output(row) for row in rows], "articlesCount": total}

    return app


def list_positions(connection) -> list[tuple]:
    """The sort key of every POSITION_STRIDE-th article of the whole list, newest first."""
    positions: list[tuple] = []
    parameters: dict = {"offset": 0}
    statement = _position_statement(False)
    while (row := connection.execute(statement, parameters).first()) is not None:
        positions.append(tuple(row))
        parameters = {"offset": POSITION_STRIDE, "position_at": row[0], "position_id": row[1]}
        statement = _position_statement(True)
    return positions
