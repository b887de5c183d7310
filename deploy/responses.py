"""An answer leaves a gunicorn worker in one write: head and body together.

gunicorn writes a response's head, then its body, in two system calls. A worker killed between
them (its host crashed, the OOM killer) leaves HAProxy holding a head without a body: it cannot
try another host any more (the client may have seen the head), so the client's GET fails. With
one write, a worker that dies has sent all of a small answer or nothing of it, and HAProxy
retries the nothing on another host (deploy/fleet/haproxy.cfg, `retry-on empty-response`).
Installed by gunicorn.conf.py; answers streamed in chunks keep gunicorn's own writes.
"""

from gunicorn import util
from gunicorn.http import wsgi


class OneWriteResponse(wsgi.Response):
    head = b""

    def send_headers(self) -> None:
        """Keep the head until the first body bytes (or the end of the answer)."""
        if self.headers_sent:
            return
        lines = [*self.default_headers(), *(f"{k}: {v}\r\n" for k, v in self.headers), "\r\n"]
        self.head = util.to_bytestring("".join(lines), "latin-1")
        self.headers_sent = True

    def flush_head(self) -> None:
        if self.head:
            head, self.head = self.head, b""
            util.write(self.sock, head)

    def _emit_body(self, data: bytes) -> None:
        if self.head and not self.chunked:
            head, self.head = self.head, b""
            util.write(self.sock, head + data)
            return
        self.flush_head()
        util.write(self.sock, data, self.chunked)

    def can_sendfile(self) -> bool:
        return False  # sendfile writes after the head; a JSON API serves no files that way

    def close(self) -> None:
        if not self.headers_sent:
            self.send_headers()
        self.flush_head()  # an answer without a body (204, 304, HEAD)
        super().close()


def install() -> None:
    """Every worker of this master answers through OneWriteResponse (gunicorn's `create` looks
    the class up in its module when it builds each response)."""
    wsgi.Response = OneWriteResponse
