"""Traces (OpenTelemetry): a span for each request, SQL statement, Celery publish and task, and
webhook HTTP attempt, exported over OTLP/HTTP.

Configured by the standard OTEL_* variables (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME,
OTEL_TRACES_SAMPLER, ...), read by the SDK itself; with none set nothing is instrumented and
nothing costs anything. W3C `traceparent` goes from the incoming request into the headers of
the tasks it sends, and from a task into its webhook requests, so one trace follows the work.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from flask import Flask

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

# OpenTelemetry is imported only when tracing is on: with it off, not even its import costs.
DEFAULT_SERVICE_NAME = "conduit"
_process_provider: TracerProvider | None = None


def tracing_configured() -> bool:
    """Some OTEL_* variable is set, and OTEL_SDK_DISABLED does not say otherwise."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(name.startswith("OTEL_") for name in os.environ)


def init_tracing(app: Flask) -> None:
    """Trace `app`, its SQL, its tasks and its outbound HTTP when OTEL_* is configured."""
    if tracing_configured():
        instrument(app, process_tracer_provider())


def process_tracer_provider() -> TracerProvider:
    """This process's provider, exporting in batches over OTLP/HTTP (made once, then reused)."""
    global _process_provider
    if _process_provider is None:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        # Named by OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES, else "conduit".
        resource = Resource.create()
        if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
            resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
        _process_provider = TracerProvider(resource=resource)
        _process_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(_process_provider)
    return _process_provider


def instrument(app: Flask, provider: TracerProvider) -> None:
    """Spans for `app`'s requests and SQL, and for every Celery task and `requests` call."""
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.flask import FlaskInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    FlaskInstrumentor().instrument_app(app, tracer_provider=provider)
    with app.app_context():
        engines = list(app.extensions["sqlalchemy"].engines.values())
    instrumentors = [
        # Its declared range stops below SQLAlchemy 2.1, whose engine events it hooks into
        # unchanged (tests/observability/test_tracing.py checks the statements' spans).
        (SQLAlchemyInstrumentor(), {"engines": engines, "skip_dep_check": True}),
        (CeleryInstrumentor(), {}),
        (RequestsInstrumentor(), {}),
    ]
    for instrumentor, options in instrumentors:
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=provider, **options)


def uninstrument(app: Flask) -> None:
    """Undo `instrument` (tests)."""
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.flask import FlaskInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    FlaskInstrumentor().uninstrument_app(app)
    for instrumentor in (SQLAlchemyInstrumentor(), CeleryInstrumentor(), RequestsInstrumentor()):
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()


def current_trace_id() -> str:
    """The id of the trace being recorded (32 hex digits), else "-"."""
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(context.trace_id) if context.is_valid else "-"
