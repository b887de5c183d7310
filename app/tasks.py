"""The one Celery instance, configured from celeryconfig.py, running tasks in the app context."""

from celery import Task
from flask import Flask
from kombu.transport import filesystem

from .extensions import celery
from .logs import init_task_request_ids

AMQP_SCHEMES = ("amqp://", "amqps://", "pyamqp://")


class FilesystemTransport(filesystem.Transport):
    """kombu's filesystem broker (`make run`'s, no server), waiting for a message one polling
    interval at a time. A worker on a transport without an event loop (this one) asks it to
    wait 2 s, and looks for a shutdown only between two waits, and once more after it: told to
    stop (Ctrl-C, SIGTERM), the worker went on polling for up to 4 s, longer than honcho waits
    before it kills the worker. Now it stops within a few polling intervals (0.1 s)."""

    def drain_events(self, connection, timeout=None):
        if timeout is not None and self.polling_interval:
            timeout = min(timeout, self.polling_interval)
        return super().drain_events(connection, timeout=timeout)


def broker_settings(broker_url: str) -> dict:
    """What a broker needs beyond celeryconfig.py: on the filesystem broker, the transport
    above; on RabbitMQ, quorum queues (replicated, and a message is redelivered as soon as the
    worker holding it is gone), publisher confirms (a task counts as sent once the broker has
    it), and a topic exchange, so countdowns (webhook retries) wait in RabbitMQ's delay queues
    rather than unacknowledged in a worker."""
    on_filesystem = broker_url.startswith("filesystem://")
    settings = {"broker_transport": f"{__name__}:FilesystemTransport" if on_filesystem else None}
    if broker_url.startswith(AMQP_SCHEMES):
        settings.update(
            task_default_queue_type="quorum",
            task_default_exchange_type="topic",
            broker_transport_options={"confirm_publish": True},
            worker_detect_quorum_queues=True,
        )
    return settings


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
