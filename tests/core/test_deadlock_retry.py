"""A deadlock runs the whole transaction again (app/transactions.py), on MariaDB: two requests
that lock two rows in opposite orders both succeed, one of them having run twice; without
retries left the loser is a 500 (a deadlock that persists is a bug to see), not a 503."""

import threading
import uuid
from collections import Counter

from sqlalchemy import delete, update

from app import create_app
from app.extensions import db
from blueprints.users.models import User
from tests.concurrency import in_parallel, require_mariadb
from tests.factories import make_user


def build_deadlocking_app(app):
    """An app of its own (its own engine: commits are real) with a route that locks two users'
    rows in the order given, both requests holding their first row before they take the
    second on their first run."""
    require_mariadb(app)
    deadlocking = create_app("test")
    runs: Counter = Counter()
    both_hold_their_first_row = threading.Barrier(2)

    @deadlocking.post("/deadlock/<int:first>/<int:second>")
    def lock_two_rows(first, second):
        runs[first] += 1
        db.session.execute(update(User).where(User.id == first).values(bio="first"))
        if runs[first] == 1:
            both_hold_their_first_row.wait(timeout=10)
        db.session.execute(update(User).where(User.id == second).values(bio="second"))
        db.session.commit()
        return {"runs": runs[first]}

    return deadlocking


def lock_in_opposite_orders(deadlocking):
    """Two requests at once, locking users A then B, and B then A: their statuses and runs."""
    prefix = f"locker-{uuid.uuid4().hex[:8]}"
    with deadlocking.app_context():
        a, b = make_user(username=f"{prefix}-a").id, make_user(username=f"{prefix}-b").id
    orders = [(a, b), (b, a)]
    try:
        return in_parallel(
            2, lambda n: deadlocking.test_client().post(f"/deadlock/{orders[n][0]}/{orders[n][1]}")
        )
    finally:
        with deadlocking.app_context():
            db.session.execute(delete(User).where(User.username.like(f"{prefix}-%")))
            db.session.commit()
            db.engine.dispose()


def test_a_deadlock_runs_the_loser_again_and_both_succeed(app):
    deadlocking = build_deadlocking_app(app)

    responses = lock_in_opposite_orders(deadlocking)

    assert [response.status_code for response in responses] == [200, 200]
    assert sorted(response.get_json()["runs"] for response in responses) == [1, 2]


def test_a_deadlock_with_no_retry_left_is_a_500_not_a_503(app, monkeypatch):
    monkeypatch.setenv("DATABASE_RETRY_ATTEMPTS", "1")
    deadlocking = build_deadlocking_app(app)

    responses = lock_in_opposite_orders(deadlocking)

    assert sorted(response.status_code for response in responses) == [200, 500]
    [failed] = [response for response in responses if response.status_code == 500]
    assert failed.get_json() == {"errors": {"body": ["internal server error"]}}
