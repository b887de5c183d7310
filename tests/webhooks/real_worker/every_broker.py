"""The tests every broker passes, run by test_redis.py, test_filesystem.py and
test_rabbitmq.py, each on a worker of its broker."""

from app.extensions import db
from blueprints.webhooks.models import Delivery
from tests.polling import wait_until
from tests.webhooks.receiver import Hold

from .support import create_article, stored_delivery, verified


class EveryBroker:
    def test_creating_an_article_delivers_one_signed_event_within_5_seconds(
        self, real_app, worker, hook, receiver
    ):
        article = create_article(real_app)

        [received] = receiver.wait_for(hook.path, timeout=5)

        payload = verified(hook, received)
        assert payload["type"] == "article.created"
        assert payload["data"]["article"]["slug"] == article["slug"]
        assert payload["data"]["article"]["title"] == article["title"]
        assert payload["data"]["article"]["author"]["username"] == article["author"]["username"]
        delivery = wait_until(
            lambda: (
                (d := stored_delivery(real_app, received.headers["webhook-id"])).delivered_at and d
            ),
            5,
            "the delivery to be recorded",
        )
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
            "delivered",
            1,
            200,
        )

    def test_a_receiver_failing_twice_sees_three_attempts_with_one_webhook_id(
        self, real_app, worker, hook, receiver
    ):
        receiver.script(hook.path, 500, 500)

        create_article(real_app)

        attempts = receiver.wait_for(hook.path, count=3, timeout=10)
        message_id = attempts[0].headers["webhook-id"]
        assert [a.headers["webhook-id"] for a in attempts] == [message_id] * 3
        assert all(verified(hook, received) for received in attempts)
        log = wait_until(
            lambda: (
                f"{message_id} (article.created) attempt 3" in (text := worker.process.log())
                and text
            ),
            5,
            "the worker to log the third attempt",
        )
        url = receiver.url(hook.path)
        assert f"{message_id} (article.created) attempt 1 to {url}: HTTP 500" in log
        assert f"{message_id} (article.created) attempt 2 to {url}: HTTP 500" in log
        assert f"{message_id} (article.created) attempt 3 to {url}: HTTP 200" in log

    def test_a_rolled_back_request_sends_nothing(self, real_app, worker, hook, receiver):
        failed = real_app.test_client().post("/api/test-only/publish-then-fail")
        article = create_article(real_app)

        # One worker takes tasks in order: had the rolled-back event been sent, it came first.
        [received] = receiver.wait_for(hook.path, timeout=5)

        assert failed.status_code == 422
        assert verified(hook, received)["data"]["article"]["slug"] == article["slug"]
        with real_app.app_context():
            payloads = db.session.scalars(db.select(Delivery.payload))
            assert not any("rolled-back" in payload for payload in payloads)

    def test_a_worker_killed_mid_delivery_delivers_after_restart(
        self, real_app, worker, hook, receiver
    ):
        held = Hold()
        receiver.script(hook.path, held)
        create_article(real_app)
        assert held.arrived.wait(5), "the worker never started the delivery"

        worker.process.kill()
        held.release.set()  # the held request answers a worker that is gone
        worker.process.start()

        first, second = receiver.wait_for(hook.path, count=2, timeout=10)
        assert first.headers["webhook-id"] == second.headers["webhook-id"]
        assert verified(hook, second)["type"] == "article.created"
        delivery = wait_until(
            lambda: (
                (d := stored_delivery(real_app, second.headers["webhook-id"])).delivered_at and d
            ),
            5,
            "the delivery to be recorded",
        )
        assert (delivery.status, delivery.attempts) == ("delivered", 2)
