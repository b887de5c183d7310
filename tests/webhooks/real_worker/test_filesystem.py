"""On the filesystem broker, in a folder of the test's own."""

import pytest

from .every_broker import EveryBroker

pytestmark = pytest.mark.system


@pytest.mark.parametrize("worker", ["filesystem"], indirect=True)
class TestOnTheFilesystemBroker(EveryBroker):
    """every_broker.py's tests, on this broker."""
