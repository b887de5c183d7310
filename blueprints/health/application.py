"""Routes of the health service, served at the root (not under /api) for load balancers."""

import os

from flask import Blueprint, current_app

from app.errors import ApiError
from app.openapi import documents

from .checks import readiness_problems
from .serializers import HealthOutput, ReadinessOutput

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
@documents(output=HealthOutput)
def get_health():
    """The process is alive: the running release and the pid that answered."""
    return {"status": "ok", "version": current_app.config["RELEASE"], "pid": os.getpid()}


@blueprint.get("/readyz")
@documents(
    output=ReadinessOutput,
    responses={503: "Not ready: the errors name the database, the broker, or a draining process"},
)
def get_readiness():
    """Ready to serve: not draining, and the database and the broker answer (else 503 naming
    the part that is not)."""
    problems = readiness_problems()
    errors = {part: messages for part, messages in problems.items() if messages}
    if errors:
        raise ApiError(503, errors=errors)
    return {"status": "ready", "checks": {part: "ok" for part in problems}}
