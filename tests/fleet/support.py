"""Real processes for the fleet tests: HAProxy with deploy/fleet/haproxy.cfg, and slow clients."""

import contextlib
import os
import shutil
import socket
import threading
from pathlib import Path

import requests

from tests.processes import PROJECT_ROOT, Process

HAPROXY_CONFIG = PROJECT_ROOT / "deploy" / "fleet" / "haproxy.cfg"


def haproxy_available() -> bool:
    return shutil.which("haproxy") is not None


def start_haproxy(
    listen: str,
    web: list[str],
    log_path: Path,
    netns: str | None = None,
    http_request_timeout: str | None = None,
):
    """HAProxy in the foreground with the fleet's configuration, in front of `web` (two
    host:port addresses), listening on `listen`; `http_request_timeout` (e.g. "2s") instead
    of the configuration's 5 s."""
    environ = {
        **os.environ,
        "CONDUIT_LISTEN": listen,
        "CONDUIT_WEB1": web[0],
        "CONDUIT_WEB2": web[1],
    }
    environ.pop("CONDUIT_HTTP_REQUEST_TIMEOUT", None)
    if http_request_timeout is not None:
        environ["CONDUIT_HTTP_REQUEST_TIMEOUT"] = http_request_timeout
    command = ["haproxy", "-db", "-f", str(HAPROXY_CONFIG)]
    if netns is not None:
        command = ["ip", "netns", "exec", netns, *command]
    return Process(command, environ, log_path).start()


def get_status(url: str, timeout: float = 3) -> int | None:
    """The status of GET `url`; None when it failed (refused, reset, timed out)."""
    try:
        return requests.get(url, timeout=timeout).status_code
    except requests.RequestException:
        return None


class Slowloris:
    """Connections that send a request head one header line at a time, a line every half
    second, and never finish it: each holds whatever reads it."""

    def __init__(self, host: str, port: int, count: int) -> None:
        self.address = (host, port)
        self.count = count
        self.stop = threading.Event()
        self.sockets: list[socket.socket] = []
        self.thread = threading.Thread(target=self.trickle, daemon=True)

    def __enter__(self) -> "Slowloris":
        for _ in range(self.count):
            connection = socket.create_connection(self.address, timeout=5)
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: conduit\r\n")
            self.sockets.append(connection)
        self.thread.start()
        return self

    def trickle(self) -> None:
        line = 0
        while not self.stop.wait(0.5):
            line += 1
            for connection in self.sockets:
                # A connection closed by the other side is what a defence does.
                with contextlib.suppress(OSError):
                    connection.sendall(f"X-Slow-{line}: {line}\r\n".encode())

    def __exit__(self, *exc_info) -> None:
        self.stop.set()
        self.thread.join()
        for connection in self.sockets:
            connection.close()
