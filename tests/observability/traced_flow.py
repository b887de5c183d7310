"""One piece of work, traced, in a process of its own (instrumentation is process-wide):
`python -m tests.observability.traced_flow RECEIVER_URL`.

It builds the app on a fresh SQLite database (TEST_DATABASE_URL), registers a webhook for
`article.created` at RECEIVER_URL, POSTs /api/articles with an incoming `traceparent`, and lets
a Celery worker in this process (on the memory broker) deliver the event. The OTEL_* variables
configure the app (as in production): the spans leave over OTLP/HTTP at exit. They also go to
the SDK's in-memory exporter, and are printed as one JSON line.
"""

import json
import sys
import time

from app import create_app
from app.extensions import celery, db
from app.tracing import process_tracer_provider, tracing_configured
from blueprints.clients.services import create_client
from blueprints.webhooks.models import DELIVERED, Delivery, Webhook

INCOMING_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING_TRACEPARENT = f"00-{INCOMING_TRACE_ID}-00f067aa0ba902b7-01"


def main(receiver_url: str) -> None:
    # Imported here: test_tracing.py imports this module's constants in every pytest worker.
    from celery.contrib.testing.worker import start_worker
    from flask_migrate import upgrade
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    if not tracing_configured():
        raise SystemExit("no OTEL_* variable: nothing would be traced")
    app = create_app("test")
    exporter = InMemorySpanExporter()
    process_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))
    with app.app_context():
        upgrade()
        client, _ = create_client("traced")
        db.session.add(Webhook(client_id=client.id, url=receiver_url, events=["article.created"]))
        db.session.commit()

    web = app.test_client()
    user = {"username": "tracy", "email": "tracy@example.com", "password": "secret-pw-1"}
    token = web.post("/api/users", json={"user": user}).get_json()["user"]["token"]
    article = {"title": "Traced", "description": "d", "body": "b"}
    response = web.post(
        "/api/articles",
        json={"article": article},
        headers={"Authorization": f"Token {token}", "traceparent": INCOMING_TRACEPARENT},
    )
    assert response.status_code == 201, response.get_data(as_text=True)

    with start_worker(celery, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        give_up = time.monotonic() + 20
        while not delivered(app):
            if time.monotonic() > give_up:
                raise SystemExit("the delivery was not made within 20 s")
            time.sleep(0.05)

    print(json.dumps([describe(span) for span in exporter.get_finished_spans()]))


def delivered(app) -> bool:
    with app.app_context():
        found = db.session.query(Delivery.status).scalar() == DELIVERED
        db.session.remove()
        return found


def describe(span) -> dict:
    return {
        "name": span.name,
        "kind": span.kind.name,
        "trace_id": f"{span.context.trace_id:032x}",
        "span_id": f"{span.context.span_id:016x}",
        "parent_id": f"{span.parent.span_id:016x}" if span.parent else None,
        "attributes": {key: str(value) for key, value in (span.attributes or {}).items()},
    }


if __name__ == "__main__":
    main(sys.argv[1])
