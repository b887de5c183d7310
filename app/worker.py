"""The Celery entry point: `celery -A app.worker worker` (and `beat`) run Conduit's tasks."""

import gc

from . import create_app
from .logs import log_celery_output_as_json

flask_app = create_app()
# What is loaded by now lives as long as the process: the collector need not walk it again, at
# each full collection and at exit (see gunicorn.conf.py's post_fork).
gc.freeze()
celery = flask_app.extensions["celery"]
if flask_app.config["LOG_FORMAT"] == "json":
    log_celery_output_as_json(celery)
