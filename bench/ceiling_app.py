"""The ceiling for bench/api.py: a minimal Flask app answering a constant JSON document.

Served by the same gunicorn settings as Conduit (GUNICORN_APP="bench.ceiling_app:create_app()"),
it measures what gunicorn + Flask + wrk on this machine can do with no work at all.
"""

from flask import Flask

CONSTANT = {"articles": [], "articlesCount": 0}


def create_app() -> Flask:
    """A Flask app whose every GET answers the same small JSON object."""
    app = Flask(__name__)

    @app.get("/", defaults={"path": ""})
    @app.get("/<path:path>")
    def constant(path: str):
        return CONSTANT

    return app
