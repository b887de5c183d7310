"""On the shared Redis, a queue of the run's own."""

import pytest

from .every_broker import EveryBroker

pytestmark = pytest.mark.system


@pytest.mark.parametrize("worker", ["redis"], indirect=True)
class TestOnRedis(EveryBroker):
    """every_broker.py's tests, on this broker."""
