"""Test-only routes, served at the root under /_test."""

import os
import time

from flask import Blueprint, current_app

from app.openapi import documents
from blueprints.health.serializers import HealthOutput

blueprint = Blueprint("testing", __name__, url_prefix="/_test")

SLOW_SECONDS = 2.0


@blueprint.get("/slow")
@documents(output=HealthOutput)
def get_slow_health():
    """/healthz, answered after SLOW_SECONDS: a request still in flight when a deploy starts."""
    time.sleep(SLOW_SECONDS)
    return {"status": "ok", "version": current_app.config["RELEASE"], "pid": os.getpid()}
