"""The outbox's backlog as Prometheus gauges, read from the database at each scrape."""

import logging
from collections.abc import Iterator

from flask import Flask
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.types import utcnow

from .models import PENDING, Delivery

log = logging.getLogger(__name__)


class OutboxCollector(Collector):
    """`outbox_pending` and `outbox_oldest_pending_age_seconds`: one aggregate over the pending
    rows (the status index), so a scrape costs one short query."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with self.app.app_context():
                pending, oldest = db.session.execute(
                    select(func.count(), func.min(Delivery.created_at)).where(
                        Delivery.status == PENDING
                    )
                ).one()
                db.session.rollback()
        except SQLAlchemyError as error:
            # The scrape still answers the rest; the gauges' absence is the signal.
            log.warning("outbox metrics not read: %s", error)
            return
        yield GaugeMetricFamily(
            "outbox_pending", "Webhook deliveries not yet delivered or failed", value=pending
        )
        age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "outbox_oldest_pending_age_seconds",
            "Age of the oldest pending webhook delivery (0 when none is pending)",
            value=max(age, 0.0),
        )
