"""The outbox: an event becomes deliveries in its own transaction, handed over after commit."""

import json

from app.events import publish
from app.extensions import celery, db
from blueprints.clients.services import create_client
from blueprints.webhooks.models import Delivery, Webhook
from tests.factories import make_user
from tests.helpers import auth_headers, counted_queries
from tests.webhooks.support import sent_tasks

URL = "https://93.184.215.14/hook"


def make_webhook(events=("profile.followed",), enabled=True, revoked=False) -> Webhook:
    """A webhook of a new client, committed."""
    client, _ = create_client("outbox test")
    if revoked:
        client.revoke()
    webhook = Webhook(client_id=client.id, url=URL, events=list(events), enabled=enabled)
    db.session.add(webhook)
    db.session.commit()
    sent_tasks()
    return webhook


def deliveries() -> list[Delivery]:
    return list(db.session.scalars(db.select(Delivery).order_by(Delivery.id)))


def test_following_records_one_delivery_per_subscribed_webhook(client):
    first, second = make_webhook(), make_webhook(events=["profile.followed", "article.created"])
    make_webhook(events=["article.created"])
    make_webhook(enabled=False)
    make_webhook(revoked=True)
    fan, _ = make_user(username="fan"), make_user(username="idol", bio="sings")

    response = client.post("/api/profiles/idol/follow", headers=auth_headers(fan))

    assert response.status_code == 200
    recorded = deliveries()
    assert [d.webhook_id for d in recorded] == [first.id, second.id]
    assert {d.event for d in recorded} == {"profile.followed"}
    assert {d.status for d in recorded} == {"pending"}
    body = json.loads(recorded[0].payload)
    assert set(body) == {"type", "timestamp", "data"}
    assert body["type"] == "profile.followed"
    assert body["timestamp"].endswith("Z")
    assert body["data"] == {
        "profile": {"username": "idol", "bio": "sings", "image": "", "following": True},
        "follower": {"username": "fan", "bio": "", "image": "", "following": False},
    }
    assert recorded[0].payload == recorded[1].payload
    assert recorded[0].message_id != recorded[1].message_id
    assert sent_tasks() == [("webhooks.deliver", [d.message_id]) for d in recorded]


def test_a_request_that_changes_nothing_publishes_nothing(client):
    make_webhook()
    fan, _ = make_user(username="steady"), make_user(username="star")
    client.post("/api/profiles/star/follow", headers=auth_headers(fan))
    sent_tasks()

    client.post("/api/profiles/star/follow", headers=auth_headers(fan))

    assert len(deliveries()) == 1
    assert sent_tasks() == []


def test_nothing_is_handed_over_before_the_commit(app):
    make_webhook()

    publish("profile.followed", {"profile": {"username": "x"}})

    assert sent_tasks() == []
    db.session.commit()
    assert [name for name, _ in sent_tasks()] == ["webhooks.deliver"]


def test_a_rolled_back_event_records_and_sends_nothing(app):
    make_webhook()

    publish("profile.followed", {"profile": {"username": "x"}})
    db.session.rollback()
    db.session.commit()

    assert deliveries() == []
    assert sent_tasks() == []


def test_events_nobody_subscribes_to_cost_one_query_and_record_nothing(app):
    with counted_queries() as statements:
        publish("comment.deleted", {"comment": {"id": 1}, "article": {"slug": "s"}})

    assert len([s for s in statements if s.startswith("SELECT")]) == 1
    assert deliveries() == []


def test_with_the_broker_down_the_change_is_saved_and_its_delivery_waits(
    client, monkeypatch, caplog
):
    make_webhook()
    fan, _ = make_user(username="offline"), make_user(username="online")
    monkeypatch.setattr(celery.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(celery, "_pool", None)
    monkeypatch.setattr(celery.amqp, "_producer_pool", None)

    response = client.post("/api/profiles/online/follow", headers=auth_headers(fan))

    assert response.status_code == 200
    [delivery] = deliveries()
    assert delivery.status == "pending"
    assert "broker unavailable: 1 webhook deliveries left pending for the sweep" in caplog.text


def recorded_bodies(event_type: str) -> list[dict]:
    query = db.select(Delivery.payload).filter_by(event=event_type).order_by(Delivery.id)
    return [json.loads(payload) for payload in db.session.scalars(query)]


def test_article_events_carry_the_article_as_the_api_shows_it(client):
    make_webhook(events=["article.created", "article.updated", "article.deleted"])
    author = make_user(username="writer")
    new = {"title": "First words", "description": "d", "body": "b", "tagList": ["x"]}

    created = client.post("/api/articles", json={"article": new}, headers=auth_headers(author))
    slug = created.get_json()["article"]["slug"]
    updated = client.put(
        f"/api/articles/{slug}",
        json={"article": {"body": "changed"}},
        headers=auth_headers(author),
    )
    deleted = client.delete(f"/api/articles/{slug}", headers=auth_headers(author))

    assert (created.status_code, updated.status_code, deleted.status_code) == (201, 200, 204)
    [on_create] = recorded_bodies("article.created")
    [on_update] = recorded_bodies("article.updated")
    [on_delete] = recorded_bodies("article.deleted")
    shown = created.get_json()["article"]
    assert on_create["type"] == "article.created"
    assert set(on_create["data"]) == {"article"}
    assert on_create["data"]["article"]["slug"] == slug
    assert set(on_create["data"]["article"]) == set(shown)
    assert on_create["data"]["article"]["author"]["username"] == "writer"
    assert on_update["data"]["article"]["body"] == "changed"
    assert on_delete["data"]["article"]["slug"] == slug


def test_comment_events_carry_the_comment_and_the_articles_slug(client):
    make_webhook(events=["comment.created", "comment.deleted"])
    author = make_user(username="host")
    article = {"title": "Talk", "description": "d", "body": "b"}
    slug = client.post(
        "/api/articles", json={"article": article}, headers=auth_headers(author)
    ).get_json()["article"]["slug"]

    created = client.post(
        f"/api/articles/{slug}/comments",
        json={"comment": {"body": "Nice"}},
        headers=auth_headers(author),
    )
    comment_id = created.get_json()["comment"]["id"]
    client.delete(f"/api/articles/{slug}/comments/{comment_id}", headers=auth_headers(author))

    [on_create] = recorded_bodies("comment.created")
    [on_delete] = recorded_bodies("comment.deleted")
    assert on_create["data"]["article"] == {"slug": slug}
    assert on_create["data"]["comment"]["id"] == comment_id
    assert on_create["data"]["comment"]["body"] == "Nice"
    assert on_delete["data"] == {"comment": on_delete["data"]["comment"], "article": {"slug": slug}}
    assert on_delete["data"]["comment"]["id"] == comment_id
