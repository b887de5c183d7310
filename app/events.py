"""Domain events: services publish them, other services subscribe to them.

The path of an event: a view changes something and calls `publish()`; each subscriber runs
at once, in the same transaction (the webhooks service records outbox rows, see
blueprints/webhooks/outbox.py, and hands them to Celery after the commit). A service
subscribes when it is registered (`subscribe`, from its blueprint's `record_once`).
"""

from collections.abc import Callable
from typing import Any

from blinker import Namespace
from flask import Flask, current_app

_signals = Namespace()
event_published = _signals.signal("event-published")

Subscriber = Callable[..., None]  # (sender app, *, event_type: str, data: dict) -> None


def publish(event_type: str, data: dict[str, Any]) -> None:
    """Announce `event_type` with its payload to every subscriber, in the current transaction.

    A rollback publishes nothing: subscribers only write to the current transaction, and
    whatever must happen outside it (a webhook delivery) is sent once it has committed. So
    publish before the view commits, never after.
    """
    event_published.send(current_app._get_current_object(), event_type=event_type, data=data)


def subscribe(app: Flask, subscriber: Subscriber) -> None:
    """Call `subscriber` for each event `app` publishes."""
    event_published.connect(subscriber, sender=app)
