"""systemd's notify protocol: one datagram to $NOTIFY_SOCKET, as sd_notify(3) sends it."""

import os
import socket
from collections.abc import Mapping


def notify(message: str, environ: Mapping[str, str] | None = None, timeout: float = 5.0) -> bool:
    """Send `message` (e.g. "MAINPID=42\\nREADY=1") to systemd; False when not run by systemd.

    Raises OSError when NOTIFY_SOCKET is set but nothing listens there, or when its queue stays
    full for `timeout` seconds (a full queue blocks the sender)."""
    address = (os.environ if environ is None else environ).get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket: its name starts with a NUL byte
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.settimeout(timeout)
        sock.connect(address)
        sock.sendall(message.encode("utf-8"))
    return True
