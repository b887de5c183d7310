"""The one Celery instance, configured from celeryconfig.py, running tasks in the app context."""

from celery import Task
from flask import Flask

from .extensions import celery
from .logs import init_task_request_ids

AMQP_SCHEMES = ("amqp://", "amqps://", "pyamqp://")


def broker_settings(broker_url: str) -> dict:
    """What a broker needs beyond celeryconfig.py: on RabbitMQ, quorum queues (replicated, and
    a message is redelivered as soon as the worker holding it is gone), publisher confirms (a
    task counts as sent once the broker has it), and a topic exchange, so countdowns (webhook
    retries) wait in RabbitMQ's delay queues rather than unacknowledged in a worker."""
    if not broker_url.startswith(AMQP_SCHEMES):
        return {}
    return {
        "task_default_queue_type": "quorum",
        "task_default_exchange_type": "topic",
        "broker_transport_options": {"confirm_publish": True},
        "worker_detect_quorum_queues": True,
    }


def init_celery(app: Flask) -> None:
    """Bind the shared Celery instance to `app`: config from celeryconfig.py, app context."""
    celery.config_from_object("celeryconfig")
    celery.conf.broker_url = app.config["CELERY_BROKER_URL"]
    celery.conf.update(broker_settings(app.config["CELERY_BROKER_URL"]))

    class AppContextTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery.Task = AppContextTask
    init_task_request_ids()
    celery.set_default()
    app.extensions["celery"] = celery
