"""The one Celery instance, configured from celeryconfig.py, running tasks in the app context."""

import os
import time
import uuid
from queue import Empty

from celery import Task
from celery.worker import state as worker_state
from flask import Flask
from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

from .extensions import celery
from .logs import init_task_request_ids

AMQP_SCHEMES = ("amqp://", "amqps://", "pyamqp://")


class FilesystemChannel(filesystem.Channel):
    """kombu's filesystem channel, whose messages appear in the queue folder whole."""

    def _put(self, queue, payload, **kwargs):
        """Write the message under a name no reader takes (`....msg.partial`), then rename it
        into place. kombu opens `<ms>_<uuid>.<queue>.msg` and then writes it: a worker polling
        in between moved the empty file away, failed to decode it and stopped for good
        ("Unrecoverable error: JSONDecodeError"), seen under load in `make run`'s processes."""
        name = f"{round(time.monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        path = os.path.join(self.data_folder_out, name)
        try:
            with open(f"{path}.partial", "wb") as partial:
                partial.write(str_to_bytes(dumps(payload)))
            os.replace(f"{path}.partial", path)
        except OSError as error:
            raise ChannelError(f"Cannot add file {path!r} to directory") from error


class FilesystemTransport(filesystem.Transport):
    """kombu's filesystem broker (`make run`'s, no server), with the channel above, whose
    wait for a message ends as soon as the worker is told to stop. A worker on a transport
    without an event loop (this one) asks it to wait 2 s, and looks for a shutdown only between
    two waits, and once more after it: told to stop (Ctrl-C, SIGTERM), the worker went on
    polling for up to 4 s, longer than honcho waits before it kills the worker."""

    Channel = FilesystemChannel

    def drain_events(self, connection, timeout=None):
        """kombu's loop (poll, sleep a polling interval, until `timeout`), which also ends
        once this process's worker is stopping."""
        started = time.monotonic()
        pause = self.polling_interval or 0
        if timeout is not None:
            pause = min(pause, timeout)
        while True:
            try:
                return self.cycle.get(self._deliver, timeout=timeout)
            except Empty:
                pass
            waited = time.monotonic() - started
            if worker_stopping() or (timeout is not None and waited >= timeout):
                raise TimeoutError  # what socket.timeout is: "nothing came"
            time.sleep(pause)


def worker_stopping() -> bool:
    """Whether a Celery worker in this process was told to stop, warm or cold (the flags hold
    an exit status, 0 too, as celery.worker.state.maybe_shutdown reads them)."""
    flags = (worker_state.should_stop, worker_state.should_terminate)
    return any(flag is not None and flag is not False for flag in flags)


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
