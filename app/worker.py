"""The Celery entry point: `celery -A app.worker worker` (and `beat`) run Conduit's tasks."""

from . import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
