"""Domain events: services publish them, the webhooks service records and delivers them.

Publishing happens inside the request's transaction; a subscriber that must act later (deliver a
webhook) records an outbox row in the same session, so a rolled-back change publishes nothing.
"""

from typing import Any

from blinker import Namespace
from flask import current_app

_signals = Namespace()
event_published = _signals.signal("event-published")


def publish(event_type: str, data: dict[str, Any]) -> None:
    """Announce `event_type` with its payload to every subscriber, in the current transaction."""
    event_published.send(current_app._get_current_object(), event_type=event_type, data=data)
