"""Idempotency-Key under concurrency, on MariaDB, with requests in threads that commit for
real: the same write sent 10 times at once runs once and all 10 get its answer; a write that
failed with a 5xx lets go of its key, so the repeat runs."""

import logging
import threading
import uuid

from sqlalchemy import delete, func, select

from app import create_app, idempotency
from app.events import event_published
from app.extensions import db
from app.idempotency import IdempotentRequest
from blueprints.articles.models import Article
from blueprints.users.models import User
from tests.concurrency import committing_for_real, in_parallel, require_mariadb
from tests.factories import make_user
from tests.helpers import auth_headers
from tests.polling import wait_until

REPEATS = 10


class WaitingRepeats(logging.Handler):
    """Counts the log lines of repeats that wait for the first request with their key."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("waiting for the request holding"):
            self.count += 1


def test_the_same_write_sent_at_once_runs_once_and_all_get_its_answer(app, monkeypatch):
    # The first request is held until every repeat waits: on a loaded machine that can take
    # longer than a repeat waits by default (then it would get the 409 of a slow first request).
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 60)
    run = uuid.uuid4().hex[:8]
    waiting = WaitingRepeats()
    idempotency_log = logging.getLogger("app.idempotency")
    idempotency_log.addHandler(waiting)

    def hold_the_first_until_the_others_wait(sender, event_type, data):
        # The one request that runs holds its transaction open until every repeat waits.
        wait_until(lambda: waiting.count >= REPEATS - 1, 30, "every repeat to wait")

    with committing_for_real(app):
        with app.app_context():
            author = make_user(username=f"repeater-{run}")
            author_id, headers = author.id, auth_headers(author)
        headers["Idempotency-Key"] = f"order-{run}"
        article = {"article": {"title": f"Once {run}", "description": "d", "body": "b"}}

        def post(index: int):
            response = app.test_client().post("/api/articles", json=article, headers=headers)
            return response.status_code, response.get_json(), response.headers

        try:
            with event_published.connected_to(hold_the_first_until_the_others_wait):
                responses = in_parallel(REPEATS, post)
            with app.app_context():
                created = db.session.scalar(
                    select(func.count()).where(Article.author_id == author_id)
                )
        finally:
            idempotency_log.removeHandler(waiting)
            with app.app_context():
                db.session.execute(delete(IdempotentRequest).filter_by(owner=f"user:{author_id}"))
                db.session.execute(delete(User).where(User.id == author_id))
                db.session.commit()

    assert created == 1
    assert [status for status, _, _ in responses] == [201] * REPEATS
    assert len({body["article"]["slug"] for _, body, _ in responses}) == 1
    replayed = [headers.get("Idempotent-Replayed") for _, _, headers in responses]
    assert sorted(replayed, key=str) == [None] + ["true"] * (REPEATS - 1)


def test_a_write_that_failed_with_a_500_lets_go_of_its_key(app):
    require_mariadb(app)
    flaky = create_app("test")
    runs = []

    @flaky.post("/api/flaky")
    def fail_the_first_time():
        runs.append(threading.get_ident())
        if len(runs) == 1:
            raise RuntimeError("first run fails before its commit")
        return {"runs": len(runs)}, 201

    run = uuid.uuid4().hex[:8]
    with flaky.app_context():
        user = make_user(username=f"flaky-{run}")
        user_id, headers = user.id, {**auth_headers(user), "Idempotency-Key": f"flaky-{run}"}
    try:
        client = flaky.test_client()
        first, repeat, replay = (client.post("/api/flaky", headers=headers) for _ in range(3))
    finally:
        with flaky.app_context():
            db.session.execute(delete(IdempotentRequest).filter_by(owner=f"user:{user_id}"))
            db.session.execute(delete(User).where(User.id == user_id))
            db.session.commit()
            db.engine.dispose()

    assert first.status_code == 500
    assert (repeat.status_code, repeat.get_json()) == (201, {"runs": 2})
    assert (replay.status_code, replay.get_json()) == (201, {"runs": 2})
    assert replay.headers["Idempotent-Replayed"] == "true"
