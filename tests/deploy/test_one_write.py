"""A worker's answer leaves in one write (deploy/responses.py): a worker killed mid-answer has
sent all of it or nothing, and nothing is what the balancer can retry on another host."""

import runpy
import socket

import pytest
from gunicorn.config import Config
from gunicorn.http import wsgi
from gunicorn.http.parser import RequestParser

from deploy.responses import OneWriteResponse
from tests.processes import PROJECT_ROOT


class CountingSocket:
    """The worker's end of the connection, counting the writes that reach it."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.writes: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self.sock.sendall(data)


def json_app(environ, start_response):
    body = b'{"tags": ["dragons"]}'
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def empty_app(environ, start_response):
    start_response("204 No Content", [])
    return []


def serve(response_class, app, request: bytes = b"GET /api/tags HTTP/1.1\r\nHost: conduit\r\n\r\n"):
    """One request through gunicorn's own parser and response, as a sync worker serves it."""
    client, worker = socket.socketpair()
    with client, worker:
        client.sendall(request)
        config = Config()
        parsed = next(iter(RequestParser(config, worker, ("127.0.0.1", 40000))))
        counting = CountingSocket(worker)
        response, environ = wsgi.create(
            parsed,
            counting,
            ("127.0.0.1", 40000),
            ("127.0.0.1", 8000),
            config,
            response_class=response_class,
        )
        for chunk in app(environ, response.start_response):
            response.write(chunk)
        response.close()
        worker.shutdown(socket.SHUT_WR)
        received = b"".join(iter(lambda: client.recv(65536), b""))
    return counting.writes, received


@pytest.mark.parametrize("wsgi_app", [json_app, empty_app])
def test_head_and_body_leave_in_one_write(wsgi_app):
    writes, received = serve(OneWriteResponse, wsgi_app)

    assert len(writes) == 1
    assert writes[0] == received


def head_lines(answer: bytes) -> list[bytes]:
    head = answer.split(b"\r\n\r\n", 1)[0]
    return sorted(line for line in head.split(b"\r\n") if not line.startswith(b"Date:"))


def test_the_answer_is_the_one_gunicorn_would_send():
    _, ours = serve(OneWriteResponse, json_app)
    # gunicorn's own class (wsgi.Response is ours once a test has loaded gunicorn.conf.py)
    gunicorns_writes, gunicorns = serve(OneWriteResponse.__bases__[0], json_app)

    assert len(gunicorns_writes) == 2  # head, then body: what deploy/responses.py is for
    assert head_lines(ours) == head_lines(gunicorns)
    assert ours.split(b"\r\n\r\n", 1)[1] == b'{"tags": ["dragons"]}'


def test_gunicorn_conf_installs_it(monkeypatch):
    monkeypatch.setattr(wsgi, "Response", wsgi.Response)  # put back after the test

    runpy.run_path(str(PROJECT_ROOT / "gunicorn.conf.py"))

    assert wsgi.Response is OneWriteResponse
