"""Two requests creating articles of one title and a new tag at the same time both succeed,
on MariaDB.

This test commits for real: its requests run in threads, each on its own pooled connection
(not the test's transaction), and it deletes what it made at the end. SQLite lets one writer
at a time in, so the race cannot happen there and the test is skipped.
"""

import threading
import time
from contextlib import suppress

import pytest
from sqlalchemy import create_engine, delete, event, select, text
from sqlalchemy.pool import NullPool

from app.events import event_published
from app.extensions import db
from blueprints.tags.models import Tag
from blueprints.users.models import User
from tests.factories import make_user
from tests.helpers import auth_headers

LOCK_WAIT_DEADLINE_SECONDS = 5
RACE_TRIES = 3
LOCK_WAITS = text(
    "SELECT COUNT(*) FROM information_schema.innodb_trx WHERE trx_state = 'LOCK WAIT'"
)


def wait_for_a_blocked_insert(url: str) -> bool:
    """Poll MariaDB until some transaction waits for a row lock; False at the deadline."""
    engine = create_engine(url, poolclass=NullPool)
    deadline = time.monotonic() + LOCK_WAIT_DEADLINE_SECONDS
    try:
        with engine.connect() as connection:
            while time.monotonic() < deadline:
                waiting = connection.execute(LOCK_WAITS).scalar_one()
                if waiting:
                    return True
                connection.rollback()
        return False
    finally:
        engine.dispose()


def race_two_creations(app, url: str) -> tuple[bool, dict, list[int]]:
    """One try: two threads create "Photo Finish" tagged "finish-line" at once. Returns whether
    the second insert was seen waiting for the first, the responses, and the tag's count."""
    engines = db.engines
    test_connection = engines[None]
    real_engine = create_engine(url, poolclass=NullPool)
    engines[None] = real_engine  # requests in other threads now commit for real
    first_to_publish = threading.Lock()
    saw_the_race = []
    # Each request's first article insert waits for the other's, so that neither can run to
    # its commit before the other has begun: on a busy machine one thread would otherwise now
    # and then finish its whole request first, and nothing would overlap.
    at_the_insert = threading.Barrier(2)
    met = set()

    def meet_at_the_first_insert(connection, cursor, statement, *args):
        if statement.startswith("INSERT INTO articles") and threading.get_ident() not in met:
            met.add(threading.get_ident())
            with suppress(threading.BrokenBarrierError):
                at_the_insert.wait(timeout=LOCK_WAIT_DEADLINE_SECONDS)

    event.listen(real_engine, "before_cursor_execute", meet_at_the_first_insert)

    def hold_the_first_until_the_second_waits(sender, event_type, data):
        if event_type == "article.created" and first_to_publish.acquire(blocking=False):
            # The first article is inserted, not committed: the other request's insert of
            # the same slug must now wait for it, then find the slug taken.
            saw_the_race.append(wait_for_a_blocked_insert(url))

    responses, tag_counts = {}, []
    try:
        with app.app_context():
            racer = make_user(username="racer-of-slugs")
            headers = auth_headers(racer)
        start = threading.Barrier(2)

        def create(name: str) -> None:
            client = app.test_client()
            article = {
                "title": "Photo Finish",
                "description": "d",
                "body": name,
                "tagList": ["finish-line"],
            }
            start.wait(timeout=10)
            responses[name] = client.post(
                "/api/articles", json={"article": article}, headers=headers
            )

        with event_published.connected_to(hold_the_first_until_the_second_waits):
            threads = [threading.Thread(target=create, args=(name,)) for name in ("a", "b")]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
        with app.app_context():
            tag_counts = list(
                db.session.scalars(select(Tag.articles_count).where(Tag.name == "finish-line"))
            )
    finally:
        with app.app_context():
            db.session.execute(delete(User).where(User.username == "racer-of-slugs"))
            db.session.execute(delete(Tag).where(Tag.name == "finish-line"))
            db.session.commit()
        engines[None] = test_connection
        real_engine.dispose()

    return saw_the_race == [True], responses, tag_counts


def test_concurrent_creations_of_one_title_and_tag_both_succeed(app, database):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("mysql"):
        pytest.skip("SQLite admits one writer at a time: two creations cannot overlap")

    # Threads overlap as the scheduler lets them: every try must succeed, and at least one
    # must show the race really happened (the second insert waiting for the first).
    for _ in range(RACE_TRIES):
        saw_the_race, responses, tag_counts = race_two_creations(app, url)
        assert sorted(response.status_code for response in responses.values()) == [201, 201]
        slugs = sorted(response.get_json()["article"]["slug"] for response in responses.values())
        assert slugs[0] == "photo-finish"
        assert slugs[1].startswith("photo-finish-") and len(slugs[1]) == len("photo-finish-") + 8
        for response in responses.values():
            assert response.get_json()["article"]["tagList"] == ["finish-line"]
        assert tag_counts == [2]
        if saw_the_race:
            break
    assert saw_the_race, f"the two creations never overlapped in {RACE_TRIES} tries"
