"""The one Celery instance, configured from celeryconfig.py, running tasks in the app context."""

from celery import Task
from flask import Flask

from .extensions import celery
from .logs import init_task_request_ids


def init_celery(app: Flask) -> None:
    """Bind the shared Celery instance to `app`: config from celeryconfig.py, app context."""
    celery.config_from_object("celeryconfig")
    celery.conf.broker_url = app.config["CELERY_BROKER_URL"]

    class AppContextTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery.Task = AppContextTask
    init_task_request_ids()
    celery.set_default()
    app.extensions["celery"] = celery
