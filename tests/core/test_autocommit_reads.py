"""GET and HEAD requests read on MariaDB connections in autocommit (app/engines.py, routed by
app/sessions.py): no transaction to end, so no ROLLBACK round trip; writes, locking reads and
the reads after a write keep the primary pool's transaction. With requests that commit for real
(tests/concurrency.py); what a test makes, it deletes.
"""

import uuid

import pytest
from sqlalchemy import delete, event, select

from app.engines import READ_ENGINE, autocommit_engine
from app.extensions import db
from app.sessions import sessionless_reader
from blueprints.articles.queries import find_article
from blueprints.tags.models import Tag
from blueprints.users.models import User
from tests.concurrency import committing_for_real, in_parallel
from tests.factories import make_article, make_user
from tests.helpers import auth_headers


@pytest.fixture
def reader(app):
    """The app with autocommit reads, on a real engine, with one connection kept for reads."""
    with committing_for_real(app):
        engine = autocommit_engine(db.engines[None], {"pool_size": 1, "max_overflow": 0}, 60)
        app.extensions[READ_ENGINE] = engine
        try:
            yield engine
        finally:
            del app.extensions[READ_ENGINE]
            engine.dispose()


def transactions_ended(engine) -> int:
    """How many COMMITs and ROLLBACKs the engine's one connection has sent so far."""
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SHOW SESSION STATUS WHERE Variable_name IN ('Com_commit', 'Com_rollback')"
        ).all()
    return sum(int(value) for _, value in rows)


def request(app, method: str, path: str, **kwargs):
    """One request, in a thread: it has an app context of its own, which ends with it (as in
    production, unlike a request inside the test's context), and so does its session."""
    client = app.test_client()
    return in_parallel(1, lambda index: client.open(path, method=method, **kwargs))[0]


def test_a_read_ends_without_a_round_trip_and_sees_each_commit_at_once(app, reader):
    run = uuid.uuid4().hex[:8]
    with app.app_context():
        author = make_user(username=f"reader-{run}")
        author_id, headers = author.id, auth_headers(author)
        slug = make_article(author, title=f"Read {run}").slug
    read: list[str] = []
    event.listen(reader, "before_cursor_execute", lambda *args: read.append(args[2]))
    try:
        before = transactions_ended(reader)
        first = request(app, "GET", f"/api/articles/{slug}", headers=headers)
        listed = request(app, "GET", f"/api/articles?author=reader-{run}")
        ended = transactions_ended(reader) - before
        reads = len(read) - 2  # less the two statuses shown by transactions_ended

        changed = request(
            app,
            "PUT",
            f"/api/articles/{slug}",
            json={"article": {"description": "changed"}},
            headers=headers,
        )
        writer_reads = len(read) - reads - 2
        second = request(app, "GET", f"/api/articles/{slug}", headers=headers)
    finally:
        with app.app_context():
            db.session.execute(delete(User).where(User.id == author_id))
            db.session.commit()

    assert first.status_code == listed.status_code == changed.status_code == 200
    assert listed.get_json()["articlesCount"] == 1
    assert reads == 3  # the viewer and the article; the page
    assert ended == 0
    assert writer_reads == 0
    assert second.get_json()["article"]["description"] == "changed"


def test_a_read_that_wrote_reads_its_write_in_the_transaction_which_ends_it(app, reader):
    name = f"unsaved-{uuid.uuid4().hex[:8]}"
    query = select(Tag.id).where(Tag.name == name)
    with app.test_request_context("/api/tags", method="GET"):
        assert db.session.get_bind(clause=query) is reader
        assert db.session.get_bind(clause=query.with_for_update()) is not reader
        db.session.add(Tag(name=name))
        db.session.flush()
        assert db.session.get_bind(clause=query) is not reader
        assert db.session.scalar(query) is not None
        db.session.rollback()
        db.session.remove()
    with app.test_request_context("/api/tags", method="POST"):
        assert db.session.get_bind(clause=query) is not reader
        assert db.session.scalar(query) is None
        db.session.remove()


def test_a_read_of_a_get_that_left_the_session_alone_runs_without_it(app, reader):
    run = uuid.uuid4().hex[:8]
    with app.app_context():
        author = make_user(username=f"sessionless-{run}")
        author_id = author.id
        slug = make_article(author, title=f"Alone {run}").slug
    try:
        with app.test_request_context(f"/api/articles/{slug}", method="GET"):
            title = find_article(slug, None).title
            made_a_session = db.session.registry.has()
            db.session.get(User, author_id)  # now the request has used the session
            after_the_session = sessionless_reader(db.session.registry)
            db.session.remove()
    finally:
        with app.app_context():
            db.session.execute(delete(User).where(User.id == author_id))
            db.session.commit()

    assert title == f"Alone {run}"
    assert not made_a_session  # read on the autocommit pool, outside the session
    assert after_the_session is None  # its reads go through the session, which may hold writes
