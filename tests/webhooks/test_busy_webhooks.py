"""A delivery refused because its webhook is busy is not left to the sweep: the attempt in
flight goes on with it once its slot is free. On MariaDB, in two threads that commit for real
(the refusal and the attempt overlap for real); SQLite admits one writer at a time."""

import threading
import uuid

import pytest
from sqlalchemy import delete

from app.extensions import db
from blueprints.clients.models import Client
from blueprints.webhooks.models import Delivery, Webhook
from blueprints.webhooks.tasks import deliver_webhook
from tests.concurrency import committing_for_real
from tests.webhooks.receiver import Hold
from tests.webhooks.support import sent_tasks
from tests.webhooks.test_delivery import another_delivery, make_delivery

THREAD_SECONDS = 30


@pytest.mark.usefixtures("private_targets")
def test_a_delivery_refused_as_busy_is_sent_by_the_attempt_in_flight(app, receiver):
    path = f"/busy-{uuid.uuid4().hex}"
    hold = Hold()
    receiver.script(path, hold)  # the first request waits until the refusal has happened
    outcomes: dict[str, str] = {}

    def in_flight(message_id: str) -> None:
        with app.app_context():
            outcomes["in flight"] = deliver_webhook.run(message_id)

    with committing_for_real(app):
        with app.app_context():
            first = make_delivery(receiver.url(path))
            second = another_delivery(first)
            client_id = db.session.get(Webhook, first.webhook_id).client_id
            message_ids = [first.message_id, second.message_id]
        try:
            thread = threading.Thread(target=in_flight, args=(message_ids[0],))
            thread.start()
            assert hold.arrived.wait(THREAD_SECONDS)
            with app.app_context():
                outcomes["refused"] = deliver_webhook.run(message_ids[1])
            hold.release.set()
            thread.join(THREAD_SECONDS)
            with app.app_context():
                statuses = db.session.scalars(
                    db.select(Delivery.status)
                    .where(Delivery.message_id.in_(message_ids))
                    .order_by(Delivery.id)
                ).all()
        finally:
            hold.release.set()
            with app.app_context():
                db.session.execute(delete(Client).where(Client.id == client_id))  # cascades
                db.session.commit()

    assert outcomes == {"refused": "skipped (webhook busy)", "in flight": "delivered"}
    assert statuses == ["delivered", "delivered"]
    received = [r.headers["webhook-id"] for r in receiver.requests(path)]
    assert received == message_ids
    assert sent_tasks() == []  # the thread in flight sent it, with no trip through the broker
