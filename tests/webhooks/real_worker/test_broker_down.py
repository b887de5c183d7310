"""A Redis of the test's own, stopped or frozen (SIGSTOP) while an article is created: the
201 comes at once, and the event is delivered once the broker is back."""

import threading
import time
import uuid

import pytest

from tests.polling import wait_until

from .support import author_headers, create_article, stored_delivery, verified

pytestmark = [pytest.mark.system, pytest.mark.parametrize("worker", ["own redis"], indirect=True)]


def test_with_the_broker_down_an_article_is_created_and_delivered_once_it_is_back(
    real_app, worker, hook, receiver, caplog
):
    worker.own_redis.stop()

    article = create_article(real_app)  # asserts the 201

    assert "1 webhook deliveries left pending for the sweep" in caplog.text
    worker.own_redis.start()
    [received] = receiver.wait_for(hook.path, timeout=15)
    assert verified(hook, received)["data"]["article"]["slug"] == article["slug"]


def test_with_the_broker_frozen_a_post_gets_its_201_within_2_seconds_and_is_delivered_once(
    real_app, worker, hook, receiver
):
    headers = author_headers(real_app)
    create_article(real_app, headers=headers)  # this process now holds a broker connection
    [first] = receiver.wait_for(hook.path, timeout=5)
    wait_until(
        lambda: stored_delivery(real_app, first.headers["webhook-id"]).status == "delivered",
        5,
        "the first delivery to be recorded",
    )
    answered: dict = {}

    def post_article() -> None:
        started = time.monotonic()
        article = {"title": f"Frozen {uuid.uuid4().hex[:8]}", "description": "d", "body": "b"}
        response = real_app.test_client().post(
            "/api/articles", json={"article": article}, headers=headers
        )
        answered.update(status=response.status_code, seconds=time.monotonic() - started)

    worker.own_redis.freeze()
    try:
        request = threading.Thread(target=post_article, daemon=True)
        request.start()
        request.join(timeout=2)
    finally:
        worker.own_redis.thaw()
    request.join(timeout=30)

    print(f"POST /api/articles with the broker frozen: {answered.get('seconds', 0):.3f} s")
    assert answered.get("seconds", 99) < 2, answered
    assert answered["status"] == 201
    _, second = receiver.wait_for(hook.path, count=2, timeout=15)
    message_id = second.headers["webhook-id"]
    wait_until(
        lambda: stored_delivery(real_app, message_id).status == "delivered",
        5,
        "the delivery to be recorded",
    )
    assert [r.headers["webhook-id"] for r in receiver.requests(hook.path)].count(message_id) == 1
