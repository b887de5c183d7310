"""The app the deploy tests serve (`GUNICORN_APP=tests.deploy.slow_app:create_app()`): Conduit
as `app:create_app()` builds it, plus GET /_test/slow, a /healthz answered after SLOW_SECONDS
(a request still in flight when a deploy starts). Production code carries no test route."""

import os
import time

from flask import Flask, current_app

from app import create_app as create_conduit

SLOW_PATH = "/_test/slow"
SLOW_SECONDS = 1.0
GUNICORN_APP = "tests.deploy.slow_app:create_app()"


def get_slow_health() -> dict:
    """/healthz's answer, after SLOW_SECONDS."""
    time.sleep(SLOW_SECONDS)
    return {"status": "ok", "version": current_app.config["RELEASE"], "pid": os.getpid()}


def create_app() -> Flask:
    """Conduit for $CONDUIT_CONFIG, with the slow route added."""
    app = create_conduit()
    app.add_url_rule(SLOW_PATH, view_func=get_slow_health)
    return app
