"""Idempotency-Key: a write sent again with the same key runs once and gets the first answer;
the same key with another request is a 422; keys are per user or client; old keys expire and
beat prunes them. On SQLite and MariaDB (the concurrent case: tests/core/
test_idempotency_races.py)."""

from datetime import timedelta

from freezegun import freeze_time
from sqlalchemy import func, select

from app.extensions import db
from app.idempotency import IdempotentRequest, prune_expired_keys
from blueprints.articles.models import Article
from blueprints.webhooks.models import Webhook
from tests.factories import make_user
from tests.helpers import auth_headers, client_key_headers

ARTICLE = {"article": {"title": "Once only", "description": "d", "body": "b"}}


def articles_by(user) -> int:
    return db.session.scalar(select(func.count()).where(Article.author_id == user.id))


def post_article(client, user, key, body=ARTICLE):
    headers = {**auth_headers(user), "Idempotency-Key": key}
    return client.post("/api/articles", json=body, headers=headers)


def test_a_repeat_with_the_same_key_gets_the_first_answer_and_runs_nothing(client):
    author = make_user()

    first = post_article(client, author, "key-1")
    repeat = post_article(client, author, "key-1")

    assert first.status_code == repeat.status_code == 201
    assert repeat.get_json() == first.get_json()
    assert repeat.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert articles_by(author) == 1


def test_a_key_belongs_to_the_user_across_their_sessions(client):
    author = make_user()
    first = post_article(client, author, "key-sessions")
    client.put(
        "/api/user", json={"user": {"password": "new-pw-123456"}}, headers=auth_headers(author)
    )
    db.session.refresh(author)  # its token generation went up: earlier tokens are revoked

    repeat = post_article(client, author, "key-sessions")

    assert repeat.status_code == 201
    assert repeat.headers["Idempotent-Replayed"] == "true"
    assert repeat.get_json() == first.get_json()
    assert articles_by(author) == 1


def test_the_same_key_with_another_body_is_a_422_and_runs_nothing(client):
    author = make_user()
    post_article(client, author, "key-2")

    other = {"article": {**ARTICLE["article"], "title": "Something else"}}
    response = post_article(client, author, "key-2", body=other)

    assert response.status_code == 422
    assert response.get_json() == {
        "errors": {"Idempotency-Key": ["was already used for another request"]}
    }
    assert articles_by(author) == 1


def test_keys_are_per_user(client):
    first, second = make_user(), make_user()

    responses = [post_article(client, user, "shared-key") for user in (first, second)]

    assert [response.status_code for response in responses] == [201, 201]
    assert "Idempotent-Replayed" not in responses[1].headers
    assert articles_by(first) == articles_by(second) == 1


def test_a_client_key_owns_the_keys_of_requests_without_a_user(client):
    headers = {**client_key_headers("idempotent"), "Idempotency-Key": "hook-1"}
    # A public address: no DNS needed.
    url = "https://93.184.215.14/hooks/idempotent"
    webhook = {"webhook": {"url": url, "events": ["article.created"]}}

    first = client.post("/api/webhooks", json=webhook, headers=headers)
    repeat = client.post("/api/webhooks", json=webhook, headers=headers)

    assert first.status_code == repeat.status_code == 201
    assert repeat.get_json() == first.get_json()
    assert db.session.scalar(select(func.count()).select_from(Webhook)) == 1


def test_an_error_answer_is_replayed_too(client):
    author = make_user()
    invalid = {"article": {"title": "", "description": "d", "body": "b"}}

    first = post_article(client, author, "key-3", body=invalid)
    repeat = post_article(client, author, "key-3", body=invalid)

    assert first.status_code == repeat.status_code == 422
    assert repeat.get_json() == first.get_json()
    assert repeat.headers["Idempotent-Replayed"] == "true"


def test_a_delete_with_a_key_is_answered_204_again_not_404(client):
    author = make_user()
    slug = post_article(client, author, "create-4").get_json()["article"]["slug"]
    headers = {**auth_headers(author), "Idempotency-Key": "delete-4"}

    first = client.delete(f"/api/articles/{slug}", headers=headers)
    repeat = client.delete(f"/api/articles/{slug}", headers=headers)

    assert first.status_code == repeat.status_code == 204
    assert repeat.data == b""
    assert client.delete(f"/api/articles/{slug}", headers=auth_headers(author)).status_code == 404


def test_a_malformed_key_is_a_422(client):
    author = make_user()

    response = post_article(client, author, "not\tvisible")

    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["Idempotency-Key"]
    assert articles_by(author) == 0


def test_without_a_user_or_client_the_key_is_ignored(client):
    user = {"user": {"username": "ann", "email": "ann@example.com", "password": "pw-123456"}}
    headers = {"Idempotency-Key": "anonymous-1"}

    first = client.post("/api/users", json=user, headers=headers)
    repeat = client.post("/api/users", json=user, headers=headers)

    assert first.status_code == 201
    assert repeat.status_code == 422  # ran again: the username is taken now
    assert db.session.scalar(select(func.count()).select_from(IdempotentRequest)) == 0


def test_an_expired_key_runs_the_request_again_and_beat_prunes_old_keys(client, app):
    author = make_user()
    ttl = timedelta(seconds=app.config["IDEMPOTENCY_KEY_TTL_SECONDS"])
    with freeze_time("2026-12-01 10:00:00"):
        post_article(client, author, "key-5")
        post_article(client, author, "key-6")
    with freeze_time("2026-12-01 10:00:00") as clock:
        clock.tick(ttl + timedelta(seconds=1))
        again = post_article(client, author, "key-5")
        pruned = prune_expired_keys()

    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again.headers
    assert articles_by(author) == 3
    assert pruned == 1  # key-6; key-5 is the new request's now
    keys = db.session.scalars(select(IdempotentRequest.key))
    assert sorted(keys) == ["key-5"]
