"""Fixtures of the webhooks tests: a receiver on 127.0.0.1, the tasks sent to the broker."""

import pytest

from tests.webhooks.receiver import Receiver
from tests.webhooks.support import sent_tasks


@pytest.fixture(scope="session")
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def private_targets(app, monkeypatch):
    """Let webhooks target 127.0.0.1 (the receiver), as development and test configs may."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_TARGETS", True)


@pytest.fixture(autouse=True)
def empty_broker(app):
    """Start each test with no task waiting in the in-process (memory://) broker."""
    sent_tasks()
