"""The filesystem broker (`make run`'s, app/tasks.py): a message put while a worker polls
arrives whole; a worker told to stop stops waiting for messages at once."""

import threading
import time

import kombu
import pytest
from celery.worker import state as worker_state

from celeryconfig import filesystem_broker_options

TRANSPORT = "app.tasks:FilesystemTransport"


def connection(options: dict) -> kombu.Connection:
    return kombu.Connection("filesystem://", transport=TRANSPORT, transport_options=options)


def test_messages_put_while_a_reader_polls_arrive_whole(tmp_path):
    # A reader polling every 5 ms meets messages being written: kombu's own transport hands it
    # some of them empty (a JSONDecodeError, which stops a worker for good) in each such run.
    options = {**filesystem_broker_options(tmp_path), "polling_interval": 0.005}
    count = 100
    received, errors = [], []

    def read() -> None:
        with connection(options) as reader:
            queue = reader.SimpleQueue("race")
            give_up = time.monotonic() + 30
            while len(received) + len(errors) < count and time.monotonic() < give_up:
                try:
                    message = queue.get(timeout=0.5)
                except queue.Empty:
                    continue
                except Exception as error:
                    errors.append(repr(error))
                    continue
                received.append(message.payload["n"])
                message.ack()

    with connection(options) as writer:
        queue = writer.SimpleQueue("race")  # declared before the reader starts
        reader = threading.Thread(target=read)
        reader.start()
        for number in range(count):
            queue.put({"n": number})
        reader.join(timeout=60)

    assert errors == []
    assert sorted(received) == list(range(count))


@pytest.fixture
def stopping_worker(monkeypatch):
    """This process's Celery worker state says: warm shutdown, exit status 0."""
    monkeypatch.setattr(worker_state, "should_stop", 0)


def test_a_wait_for_messages_ends_once_the_worker_is_told_to_stop(tmp_path, stopping_worker):
    with connection(filesystem_broker_options(tmp_path)) as broker:
        broker.SimpleQueue("idle").consumer.consume()
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            broker.drain_events(timeout=2.0)  # what the worker's loop asks for
        assert time.monotonic() - started < 0.5


def test_a_wait_for_messages_lasts_its_timeout_while_the_worker_runs(tmp_path):
    with connection(filesystem_broker_options(tmp_path)) as broker:
        broker.SimpleQueue("idle").consumer.consume()
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            broker.drain_events(timeout=0.3)
        assert time.monotonic() - started >= 0.3
