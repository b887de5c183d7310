"""The Celery entry point: `celery -A app.worker worker` (and `beat`) run Conduit's tasks."""

from . import create_app
from .logs import log_celery_output_as_json

flask_app = create_app()
celery = flask_app.extensions["celery"]
if flask_app.config["LOG_FORMAT"] == "json":
    log_celery_output_as_json(celery)
