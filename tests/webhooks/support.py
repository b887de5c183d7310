"""Helpers of the webhooks tests: what the code under test sent to the (memory://) broker."""

from app.extensions import celery


def sent_tasks() -> list[tuple[str, list]]:
    """Take the tasks waiting in the test broker: (task name, arguments), oldest first."""
    assert celery.conf.broker_url.startswith("memory://")
    taken = []
    with celery.connection_for_read() as connection:
        queue = connection.SimpleQueue("celery", no_ack=True)
        try:
            while True:
                try:
                    message = queue.get(block=False)
                except queue.Empty:
                    break
                taken.append((message.headers["task"], message.decode()[0]))
        finally:
            queue.close()
    return taken
