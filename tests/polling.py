"""Waiting in tests: poll with a deadline (no blind sleeps); free ports."""

import socket
import time
from collections.abc import Callable
from typing import Any


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], Any], seconds: float, what: str) -> Any:
    """Poll `condition` until it returns something truthy; AssertionError after `seconds`."""
    give_up = time.monotonic() + seconds
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > give_up:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.02)
