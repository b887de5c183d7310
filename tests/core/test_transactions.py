"""The transactional fixture: committed work stays inside the test's transaction."""

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app.extensions import db
from blueprints.users.models import User
from tests.factories import make_user


def count_users_outside_the_test(app, username: str) -> int:
    """Count with a connection of its own, which sees only what is really committed."""
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    try:
        with engine.connect() as connection:
            query = text("SELECT COUNT(*) FROM users WHERE username = :name")
            return connection.execute(query, {"name": username}).scalar_one()
    finally:
        engine.dispose()


def test_a_commit_in_the_code_under_test_does_not_leak_out_of_the_test(client, app):
    response = client.post(
        "/api/users",
        json={
            "user": {
                "username": "leaky",
                "email": "leaky@example.com",
                "password": "pw-long-enough",
            }
        },
    )

    assert response.status_code == 201
    assert db.session.scalar(db.select(User).filter_by(username="leaky")) is not None
    assert count_users_outside_the_test(app, "leaky") == 0


def test_rows_created_before_a_call_that_rolls_back_are_still_there(client):
    author = make_user(username="author")
    db.session.add(User(username="uncommitted", email="u@example.com", password_hash="x"))
    db.session.flush()

    response = client.post(
        "/api/users",
        json={
            "user": {
                "username": "author",
                "email": "other@example.com",
                "password": "pw-long-enough",
            }
        },
    )

    assert response.status_code == 422
    names = set(db.session.scalars(db.select(User.username)))
    assert {"author", "uncommitted"} <= names
    assert author.username == "author"


def test_an_explicit_rollback_in_the_code_keeps_the_tests_earlier_commits(client):
    kept = make_user(username="kept")
    db.session.add(User(username="dropped", email="d@example.com", password_hash="x"))

    db.session.rollback()

    names = set(db.session.scalars(db.select(User.username)))
    assert "kept" in names and "dropped" not in names
    assert kept.id is not None
