"""On the shared RabbitMQ (quorum queues, delay queues for retries), a queue of the run's own
in the tests' virtual host."""

import pytest

from .every_broker import EveryBroker

pytestmark = pytest.mark.system


@pytest.mark.parametrize("worker", ["rabbitmq"], indirect=True)
class TestOnRabbitMQ(EveryBroker):
    """every_broker.py's tests, on this broker."""
