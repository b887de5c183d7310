"""A stand-in for Sentry, for the operations tests."""

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# The webhook secret in a local variable of the task that fails (tests/ops/worker_app.py's
# ops.explode): it must not reach Sentry. Kept here, not there: importing worker_app builds an
# app, and every pytest worker imports test_sentry.py.
TASK_SIGNING_SECRET = "whsec_task-local-secret-4711"


class SentryReceiver:
    """A stand-in for Sentry on 127.0.0.1: stores the envelopes that SDKs post to it."""

    def __init__(self) -> None:
        self.envelopes: list[bytes] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding:
                    raise AssertionError(f"unexpected envelope encoding {encoding}")
                receiver.envelopes.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def dsn(self) -> str:
        return f"http://public-key@127.0.0.1:{self.server.server_address[1]}/1"

    def events(self) -> list[dict[str, Any]]:
        """Every error event received so far (not sessions or client reports)."""
        return [item for envelope in self.envelopes for item in envelope_events(envelope)]

    def raw(self) -> bytes:
        return b"\n".join(self.envelopes)

    def __enter__(self) -> "SentryReceiver":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def envelope_events(envelope: bytes) -> list[dict[str, Any]]:
    """The items of type "event" in a Sentry envelope (header line, then item header + payload
    pairs; a payload's length is given in its header or ends at the newline)."""
    events = []
    rest = envelope.split(b"\n", 1)[1] if b"\n" in envelope else b""
    while rest.strip():
        header_line, rest = rest.split(b"\n", 1)
        header = json.loads(header_line)
        if "length" in header:
            payload, rest = rest[: header["length"]], rest[header["length"] :]
            rest = rest.removeprefix(b"\n")
        else:
            payload, _, rest = rest.partition(b"\n")
        if header.get("type") == "event":
            events.append(json.loads(payload))
    return events
