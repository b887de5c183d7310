"""Webhook receivers on 127.0.0.1 for the tests: one records every request and answers as
scripted; another speaks TLS and trickles its handshake or its answer."""

import select
import socket
import socketserver
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)
    finished_at: float | None = None  # when the answer was sent, or the sender went away


@dataclass
class Hold:
    """An answer held back until `release` is set (or `timeout` passes): a slow receiver."""

    release: threading.Event = field(default_factory=threading.Event)
    status: int = 200
    timeout: float = 30.0
    arrived: threading.Event = field(default_factory=threading.Event)


@dataclass
class Trickle:
    """An answer that comes a byte every `interval` seconds (an endless header line) until
    `stop` is set or the sender hangs up: per-read timeouts never fire on it."""

    interval: float = 0.1
    stop: threading.Event = field(default_factory=threading.Event)


@dataclass
class Reply:
    """An answer with headers: Reply(302, {"Location": ...}), Reply(429, {"Retry-After": "2"})."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"


class Receiver:
    """Records each request by path; answers each path's scripted replies in turn, then 200."""

    def __init__(self) -> None:
        self._received: list[Received] = []
        self._scripts: dict[str, list] = {}
        self._holds: list[Hold | Trickle] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = -1  # one send per answer (unbuffered, Nagle delays the body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                received = Received(self.path, headers, body)
                reply = receiver._record(received)
                try:
                    self.answer(reply)
                finally:
                    received.finished_at = time.time()

            def answer(self, reply) -> None:
                if isinstance(reply, Trickle):
                    self.trickle(reply)
                    return
                if isinstance(reply, Hold):
                    reply.arrived.set()
                    reply.release.wait(reply.timeout)
                    reply = reply.status
                if not isinstance(reply, Reply):
                    reply = Reply(reply)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the sender is gone (timed out, killed)

            def trickle(self, trickle: Trickle) -> None:
                try:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Trickle: ")
                    self.wfile.flush()
                    while not trickle.stop.is_set():
                        # Wake up at once when the sender hangs up (its deadline cut it).
                        readable, _, _ = select.select([self.connection], [], [], trickle.interval)
                        if readable and not self.connection.recv(1, socket.MSG_PEEK):
                            raise ConnectionResetError("the sender hung up")
                        self.wfile.write(b"a")
                        self.wfile.flush()
                    self.wfile.write(b"\r\nContent-Length: 2\r\n\r\nok")
                    self.wfile.flush()
                except OSError:
                    self.close_connection = True

            def log_message(self, format, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_port}{path}"

    def script(self, path: str, *replies) -> None:
        """Answer the next requests to `path` with `replies` (status codes, Reply, Hold)."""
        with self._changed:
            self._scripts.setdefault(path, []).extend(replies)
            self._holds.extend(reply for reply in replies if isinstance(reply, Hold | Trickle))

    def _record(self, received: Received):
        with self._changed:
            self._received.append(received)
            self._changed.notify_all()
            script = self._scripts.get(received.path)
            return script.pop(0) if script else 200

    def overlapping(self, path: str) -> list[tuple[Received, Received]]:
        """Pairs of requests to `path` that were in flight at the same time."""
        received = sorted(self.requests(path), key=lambda r: r.at)
        return [
            (first, second)
            for index, first in enumerate(received)
            for second in received[index + 1 :]
            if second.at < (first.finished_at or time.time())
        ]

    def requests(self, path: str) -> list[Received]:
        with self._changed:
            return [r for r in self._received if r.path == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 5.0) -> list[Received]:
        """The requests to `path` once there are `count` of them; AssertionError at the deadline."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                received = [r for r in self._received if r.path == path]
                if len(received) >= count:
                    return received
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"{path}: {len(received)} of {count} requests within {timeout} s"
                    )
                self._changed.wait(remaining)

    def close(self) -> None:
        with self._changed:
            for hold in self._holds:
                (hold.stop if isinstance(hold, Trickle) else hold.release).set()
        self._server.shutdown()
        self._server.server_close()


class TLSTrickler:
    """An HTTPS receiver on 127.0.0.1 that trickles: its TLS handshake a byte every `interval`
    seconds (`trickled="handshake"`), or, after a handshake at full speed, its answer a byte
    (one TLS record) every `interval` seconds (`"answer"`: each read is answered in time). It
    hangs up after `give_up` seconds; `hung_up` is set when the sender cut the connection."""

    def __init__(
        self,
        certificate: Path,
        key: Path,
        trickled: str,
        interval: float = 0.05,
        give_up: float = 5.0,
    ) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate, key)
        self.hung_up = threading.Event()
        trickler = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
                self.tls = context.wrap_bio(self.incoming, self.outgoing, server_side=True)
                self.until = time.monotonic() + give_up
                try:
                    self.handshake()
                    self.read_request()
                    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok":
                        self.tls.write(bytes([byte]))
                        self.send()
                        self.pause()
                except ConnectionError:
                    trickler.hung_up.set()
                except (OSError, ssl.SSLError):
                    pass  # given up

            def handshake(self) -> None:
                while True:
                    try:
                        self.tls.do_handshake()
                        break
                    except ssl.SSLWantReadError:
                        self.send(slowly=trickled == "handshake")
                        self.receive()
                self.send(slowly=trickled == "handshake")

            def read_request(self) -> None:
                request = b""
                while b"\r\n\r\n" not in request:  # the headers; the body is not needed
                    try:
                        request += self.tls.read(65536)
                    except ssl.SSLWantReadError:
                        self.receive()

            def send(self, slowly: bool = False) -> None:
                data = self.outgoing.read()
                if not slowly:
                    self.request.sendall(data)
                    return
                for index in range(len(data)):
                    self.request.sendall(data[index : index + 1])
                    self.pause()

            def pause(self) -> None:
                """Wait `interval`, cut short when the sender hangs up; give up at the end."""
                readable, _, _ = select.select([self.request], [], [], interval)
                if readable:
                    self.receive()
                if time.monotonic() > self.until:
                    raise TimeoutError("the trickler gave up")

            def receive(self) -> None:
                data = self.request.recv(65536)
                if not data:
                    raise ConnectionResetError("the sender hung up")
                self.incoming.write(data)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}{path}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
