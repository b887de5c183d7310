"""Routes of the health service, served at the root (not under /api) for load balancers."""

import os

from flask import Blueprint, current_app

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def get_health():
    """The process is alive: the running release and the pid that answered."""
    return {"status": "ok", "version": current_app.config["RELEASE"], "pid": os.getpid()}
