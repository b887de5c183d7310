"""Traces: one trace from POST /api/articles through the Celery task to the webhook request,
continuing the caller's traceparent (in-memory exporter); the same spans exported over
OTLP/HTTP to a receiver run here, decoded with opentelemetry-proto (one traced process for
both); no instrumentation without OTEL_*."""

import gzip
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.tracing import tracing_configured
from tests.processes import PROJECT_ROOT, conduit_environment

from .traced_flow import INCOMING_TRACE_ID


@pytest.fixture(scope="module")
def flow(receiver, tmp_path_factory):
    """The traced flow (tests/observability/traced_flow.py), run once: the spans it printed, its
    standard error, and the OTLP receiver it exported them to."""
    otlp_receiver = OtlpReceiver()
    settings = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint,
        "OTEL_SERVICE_NAME": "conduit-test",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    environ = conduit_environment(
        tmp_path_factory.mktemp("traced"),
        TEST_CELERY_BROKER_URL="memory://",
        WEBHOOK_ALLOW_PRIVATE_TARGETS="1",
        **settings,
    )
    environ = {
        name: value
        for name, value in environ.items()
        if not name.startswith("OTEL_") or name in settings
    }
    try:
        result = subprocess.run(
            [sys.executable, "-m", "tests.observability.traced_flow", receiver.url("/traced")],
            cwd=PROJECT_ROOT,
            env=environ,
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert result.returncode == 0, result.stderr[-4000:]
        spans = json.loads(result.stdout.strip().splitlines()[-1])
        yield spans, result.stderr, otlp_receiver
    finally:
        otlp_receiver.close()


@pytest.mark.system
def test_one_trace_follows_the_request_into_the_task_and_out_to_the_receiver(flow, receiver):
    spans, _, _ = flow
    by_id = {span["span_id"]: span for span in spans}

    def ancestors(span):
        while span["parent_id"] in by_id:
            span = by_id[span["parent_id"]]
            yield span

    request = next(s for s in spans if s["kind"] == "SERVER" and "/api/articles" in s["name"])
    publish = next(s for s in spans if s["kind"] == "PRODUCER")
    task = next(s for s in spans if s["kind"] == "CONSUMER")
    attempt = next(s for s in spans if s["kind"] == "CLIENT" and s["name"].startswith("POST"))
    statements = [
        s for s in spans if "db.system" in s["attributes"] or "db.system.name" in s["attributes"]
    ]

    # The caller's trace goes on: the request span's parent is the caller's span.
    assert request["trace_id"] == INCOMING_TRACE_ID
    assert request["parent_id"] == "00f067aa0ba902b7"
    assert "webhooks.deliver" in publish["name"]
    assert request in ancestors(publish)
    assert "webhooks.deliver" in task["name"]
    assert task["parent_id"] == publish["span_id"]
    assert task in ancestors(attempt)
    assert {s["trace_id"] for s in (publish, task, attempt)} == {INCOMING_TRACE_ID}
    # SQL statements are spans of the request and of the task.
    assert [s for s in statements if request in ancestors(s)]
    assert [s for s in statements if task in ancestors(s)]
    # The receiver can join the trace: the webhook request carried the attempt's traceparent.
    (received,) = receiver.requests("/traced")
    assert received.headers["traceparent"].split("-")[1:3] == [
        INCOMING_TRACE_ID,
        attempt["span_id"],
    ]


class OtlpReceiver:
    """An OTLP/HTTP trace receiver on 127.0.0.1: keeps each decoded export request."""

    def __init__(self) -> None:
        # Imported here, as in the tests below: every pytest worker imports this module.
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        self.exports: list[ExportTraceServiceRequest] = []
        received = self.exports

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                assert self.path == "/v1/traces"
                assert self.headers["Content-Type"] == "application/x-protobuf"
                export = ExportTraceServiceRequest()
                export.ParseFromString(body)
                received.append(export)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def spans(self):
        for export in self.exports:
            for resource_spans in export.resource_spans:
                resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        yield resource, span

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.system
def test_spans_leave_over_otlp_http_and_log_lines_carry_the_trace_id(flow):
    _, stderr, otlp_receiver = flow

    exported = list(otlp_receiver.spans())
    assert {resource["service.name"] for resource, _ in exported} == {"conduit-test"}
    names = [span.name for _, span in exported if span.trace_id.hex() == INCOMING_TRACE_ID]
    assert [name for name in names if "/api/articles" in name]
    assert [name for name in names if "webhooks.deliver" in name]
    # Every line logged inside the trace names it beside the request id.
    delivered = [line for line in stderr.splitlines() if "webhook delivery" in line]
    assert delivered
    assert all(f" {INCOMING_TRACE_ID}]" in line for line in delivered)


def test_without_otel_settings_nothing_is_instrumented(app, monkeypatch):
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    for name in [name for name in os.environ if name.startswith("OTEL_")]:
        monkeypatch.delenv(name)

    assert not tracing_configured()
    assert not getattr(app, "_is_instrumented_by_opentelemetry", False)
    for instrumentor in (SQLAlchemyInstrumentor(), CeleryInstrumentor(), RequestsInstrumentor()):
        assert not instrumentor.is_instrumented_by_opentelemetry


def test_otel_sdk_disabled_turns_tracing_off(monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
    assert tracing_configured()
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert not tracing_configured()
