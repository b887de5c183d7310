"""The webhook endpoints: a client registers, changes, tests and inspects its own webhooks."""

import base64
from datetime import timedelta

import pytest
from freezegun import freeze_time

from app.extensions import db
from blueprints.webhooks.delivery import attempt_delivery
from blueprints.webhooks.models import EVENT_TYPES, Delivery, Webhook
from tests.helpers import client_key_headers
from tests.webhooks.receiver import Reply
from tests.webhooks.support import sent_tasks

PUBLIC_URL = "https://93.184.215.14/hooks/conduit"  # a public address: no DNS needed


def register(client, headers, url=PUBLIC_URL, events=("article.created",)):
    return client.post(
        "/api/webhooks", json={"webhook": {"url": url, "events": list(events)}}, headers=headers
    )


def test_registering_a_webhook_shows_its_secret_once(client):
    headers = client_key_headers()

    response = register(client, headers, events=["comment.created", "article.created"])

    assert response.status_code == 201
    webhook = response.get_json()["webhook"]
    assert webhook["url"] == PUBLIC_URL
    assert webhook["events"] == ["article.created", "comment.created"]
    assert webhook["enabled"] is True
    assert webhook["disabledReason"] is None
    assert webhook["secret"].startswith("whsec_")
    assert len(base64.b64decode(webhook["secret"].removeprefix("whsec_"))) == 32
    shown = client.get(f"/api/webhooks/{webhook['id']}", headers=headers).get_json()["webhook"]
    assert "secret" not in shown
    assert shown == {key: value for key, value in webhook.items() if key != "secret"}


def test_webhook_endpoints_always_require_a_client_key(client):
    assert register(client, {}).status_code == 401
    for path in ["/api/webhooks", "/api/webhooks/1", "/api/webhooks/1/deliveries"]:
        response = client.get(path)
        assert response.status_code == 401
        assert response.get_json() == {"errors": {"X-Client-Key": ["is missing"]}}


def test_a_client_sees_only_its_own_webhooks(client):
    mine, theirs = client_key_headers("mine"), client_key_headers("theirs")
    webhook_id = register(client, mine).get_json()["webhook"]["id"]

    assert client.get("/api/webhooks", headers=theirs).get_json() == {
        "webhooks": [],
        "webhooksCount": 0,
    }
    for method, path in [
        ("get", f"/api/webhooks/{webhook_id}"),
        ("delete", f"/api/webhooks/{webhook_id}"),
        ("post", f"/api/webhooks/{webhook_id}/ping"),
        ("post", f"/api/webhooks/{webhook_id}/rotate-secret"),
        ("get", f"/api/webhooks/{webhook_id}/deliveries"),
    ]:
        response = getattr(client, method)(path, headers=theirs)
        assert response.status_code == 404, path
        assert response.get_json() == {"errors": {"body": ["webhook not found"]}}
    assert client.get(f"/api/webhooks/{webhook_id}", headers=mine).status_code == 200


def test_webhooks_are_listed_in_pages_with_their_total(client):
    headers = client_key_headers()
    ids = [register(client, headers).get_json()["webhook"]["id"] for _ in range(3)]

    page = client.get("/api/webhooks?limit=2&offset=1", headers=headers).get_json()

    assert page["webhooksCount"] == 3
    assert [webhook["id"] for webhook in page["webhooks"]] == ids[1:]


@pytest.mark.parametrize(
    ("webhook", "errors"),
    [
        ({"events": ["article.created"]}, {"url": ["is required"]}),
        ({"url": PUBLIC_URL}, {"events": ["is required"]}),
        ({"url": PUBLIC_URL, "events": []}, {"events": ["must name at least one event"]}),
        (
            {"url": PUBLIC_URL, "events": ["article.liked"]},
            {"events": ["must be one of: " + ", ".join(EVENT_TYPES)]},
        ),
        (
            {"url": "ftp://93.184.215.14/", "events": ["article.created"]},
            {"url": ["must be an http or https URL"]},
        ),
        ({"url": "https:///path", "events": ["article.created"]}, {"url": ["must name a host"]}),
        (
            {"url": "https://u:p@93.184.215.14/", "events": ["article.created"]},
            {"url": ["must not contain a user name or password"]},
        ),
        (
            {"url": "https://93.184.215.14:99999/", "events": ["article.created"]},
            {"url": ["is not a valid URL"]},
        ),
        (
            {"url": 42, "events": "article.created"},
            {"url": ["must be a string"], "events": ["must be a list"]},
        ),
    ],
)
def test_a_malformed_webhook_is_refused_with_422(client, webhook, errors):
    response = client.post("/api/webhooks", json={"webhook": webhook}, headers=client_key_headers())

    assert response.status_code == 422
    assert response.get_json() == {"errors": errors}


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8000/hook", "loopback address 127.0.0.1"),
        ("http://localhost/hook", "loopback address"),
        ("http://10.1.2.3/hook", "private address 10.1.2.3"),
        ("http://192.168.0.10/hook", "private address 192.168.0.10"),
        ("http://172.16.5.4/hook", "private address 172.16.5.4"),
        ("http://169.254.169.254/latest/meta-data", "link-local address 169.254.169.254"),
        ("http://224.0.0.1/hook", "multicast address 224.0.0.1"),
        ("http://0.0.0.0/hook", "unspecified address 0.0.0.0"),
        ("http://100.64.0.1/hook", "non-public address 100.64.0.1"),
        ("http://[::1]/hook", "loopback address ::1"),
        ("http://[fe80::1]/hook", "link-local address fe80::1"),
        ("http://[fd00::1]/hook", "private address fd00::1"),
        ("http://[ff02::1]/hook", "multicast address ff02::1"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback address 127.0.0.1"),
        ("http://2130706433/hook", "loopback address 127.0.0.1"),
    ],
)
def test_private_targets_are_refused(client, url, reason):
    response = register(client, client_key_headers(), url=url)

    assert response.status_code == 422
    [message] = response.get_json()["errors"]["url"]
    assert reason in message and message.endswith("which is not allowed")


def test_a_host_that_does_not_resolve_is_refused(client):
    response = register(client, client_key_headers(), url="https://no-such-host.invalid/hook")

    assert response.status_code == 422
    assert response.get_json() == {
        "errors": {"url": ["host 'no-such-host.invalid' does not resolve"]}
    }


def test_private_targets_are_allowed_when_the_setting_is_on(client, private_targets):
    response = register(client, client_key_headers(), url="http://127.0.0.1:8000/hook")

    assert response.status_code == 201


def test_updating_a_webhook_changes_url_events_and_enabled(client, private_targets):
    headers = client_key_headers()
    webhook_id = register(client, headers).get_json()["webhook"]["id"]
    change = {"url": "http://127.0.0.1:9000/new", "events": ["profile.followed"], "enabled": False}

    response = client.patch(
        f"/api/webhooks/{webhook_id}", json={"webhook": change}, headers=headers
    )

    assert response.status_code == 200
    webhook = response.get_json()["webhook"]
    assert webhook["url"] == change["url"]
    assert webhook["events"] == ["profile.followed"]
    assert webhook["enabled"] is False
    assert webhook["disabledReason"] == "disabled by the client"
    assert "secret" not in webhook


def test_updating_to_a_private_target_is_refused(client):
    headers = client_key_headers()
    webhook_id = register(client, headers).get_json()["webhook"]["id"]

    response = client.patch(
        f"/api/webhooks/{webhook_id}",
        json={"webhook": {"url": "http://127.0.0.1/"}},
        headers=headers,
    )

    assert response.status_code == 422
    assert db.session.get(Webhook, webhook_id).url == PUBLIC_URL


def test_enabling_a_disabled_webhook_clears_its_failures(client):
    headers = client_key_headers()
    webhook_id = register(client, headers).get_json()["webhook"]["id"]
    webhook = db.session.get(Webhook, webhook_id)
    webhook.enabled, webhook.consecutive_failures = False, 10
    webhook.disabled_reason = "disabled after 10 failed deliveries in a row"
    db.session.commit()

    response = client.patch(
        f"/api/webhooks/{webhook_id}", json={"webhook": {"enabled": True}}, headers=headers
    )

    assert response.get_json()["webhook"]["enabled"] is True
    assert response.get_json()["webhook"]["disabledReason"] is None
    assert db.session.get(Webhook, webhook_id).consecutive_failures == 0


def test_deleting_a_webhook_deletes_its_deliveries(client):
    headers = client_key_headers()
    webhook_id = register(client, headers).get_json()["webhook"]["id"]
    client.post(f"/api/webhooks/{webhook_id}/ping", headers=headers)

    response = client.delete(f"/api/webhooks/{webhook_id}", headers=headers)

    assert response.status_code == 204
    assert response.data == b"" and "Content-Type" not in response.headers
    assert client.get(f"/api/webhooks/{webhook_id}", headers=headers).status_code == 404
    assert db.session.scalar(db.select(db.func.count(Delivery.id))) == 0


def test_rotating_the_secret_shows_a_new_one_once(client):
    headers = client_key_headers()
    created = register(client, headers).get_json()["webhook"]

    response = client.post(f"/api/webhooks/{created['id']}/rotate-secret", headers=headers)

    assert response.status_code == 200
    secret = response.get_json()["webhook"]["secret"]
    assert secret.startswith("whsec_") and secret != created["secret"]
    assert db.session.get(Webhook, created["id"]).secret == secret


def test_a_ping_is_recorded_and_handed_to_the_workers_after_the_commit(client):
    headers = client_key_headers()
    webhook_id = register(client, headers).get_json()["webhook"]["id"]

    response = client.post(f"/api/webhooks/{webhook_id}/ping", headers=headers)

    assert response.status_code == 202
    delivery = response.get_json()["delivery"]
    assert delivery["event"] == "webhook.ping"
    assert delivery["status"] == "pending"
    assert delivery["attempts"] == 0
    assert delivery["id"].startswith("msg_")
    assert sent_tasks() == [("webhooks.deliver", [delivery["id"]])]
    listed = client.get(f"/api/webhooks/{webhook_id}/deliveries", headers=headers).get_json()
    assert listed["deliveriesCount"] == 1
    assert [d["id"] for d in listed["deliveries"]] == [delivery["id"]]


def test_a_disabled_webhook_cannot_be_pinged(client):
    headers = client_key_headers()
    webhook_id = register(client, headers).get_json()["webhook"]["id"]
    client.patch(
        f"/api/webhooks/{webhook_id}", json={"webhook": {"enabled": False}}, headers=headers
    )

    response = client.post(f"/api/webhooks/{webhook_id}/ping", headers=headers)

    assert response.status_code == 422
    assert sent_tasks() == []


def test_deliveries_are_listed_newest_first_in_pages(client):
    headers = client_key_headers()
    webhook_id = register(client, headers).get_json()["webhook"]["id"]
    ids = [
        client.post(f"/api/webhooks/{webhook_id}/ping", headers=headers).get_json()["delivery"][
            "id"
        ]
        for _ in range(3)
    ]

    page = client.get(f"/api/webhooks/{webhook_id}/deliveries?limit=2", headers=headers).get_json()

    assert page["deliveriesCount"] == 3
    assert [d["id"] for d in page["deliveries"]] == ids[::-1][:2]


def test_redelivering_keeps_the_webhook_id_and_starts_a_new_run_of_attempts(client):
    headers = client_key_headers()
    webhook_id = register(client, headers).get_json()["webhook"]["id"]
    message_id = client.post(f"/api/webhooks/{webhook_id}/ping", headers=headers).get_json()[
        "delivery"
    ]["id"]
    delivery = db.session.scalar(db.select(Delivery).filter_by(message_id=message_id))
    delivery.status, delivery.attempts, delivery.last_status_code = "failed", 8, 500
    db.session.commit()
    sent_tasks()

    response = client.post(
        f"/api/webhooks/{webhook_id}/deliveries/{message_id}/redeliver", headers=headers
    )

    assert response.status_code == 202
    redelivered = response.get_json()["delivery"]
    assert redelivered["id"] == message_id
    assert redelivered["status"] == "pending"
    assert redelivered["attempts"] == 0
    assert sent_tasks() == [("webhooks.deliver", [message_id])]


def test_redelivering_an_unknown_delivery_is_404(client):
    headers = client_key_headers()
    webhook_id = register(client, headers).get_json()["webhook"]["id"]

    response = client.post(
        f"/api/webhooks/{webhook_id}/deliveries/msg_nope/redeliver", headers=headers
    )

    assert response.status_code == 404
    assert response.get_json() == {"errors": {"body": ["delivery not found"]}}


def test_a_deliverys_attempts_are_listed_oldest_first(client, receiver, private_targets):
    headers = client_key_headers()
    path = "/attempts-listed"
    receiver.script(path, Reply(500, body=b"database down"))
    webhook_id = register(client, headers, url=receiver.url(path)).get_json()["webhook"]["id"]
    message_id = client.post(f"/api/webhooks/{webhook_id}/ping", headers=headers).get_json()[
        "delivery"
    ]["id"]
    attempt_delivery(message_id)
    delivery = db.session.scalar(db.select(Delivery).filter_by(message_id=message_id))
    with freeze_time(delivery.next_attempt_at + timedelta(seconds=1)):
        attempt_delivery(message_id)

    response = client.get(
        f"/api/webhooks/{webhook_id}/deliveries/{message_id}/attempts", headers=headers
    )

    assert response.status_code == 200
    page = response.get_json()
    assert page["attemptsCount"] == 2
    first, second = page["attempts"]
    assert (first["number"], first["statusCode"], first["responseExcerpt"]) == (
        1,
        500,
        "database down",
    )
    assert (second["number"], second["statusCode"], second["error"]) == (2, 200, None)
    assert set(first) == {
        "number",
        "startedAt",
        "durationMs",
        "statusCode",
        "error",
        "responseExcerpt",
    }


def test_another_clients_delivery_attempts_are_404(client):
    mine, theirs = client_key_headers("mine"), client_key_headers("theirs")
    webhook_id = register(client, theirs).get_json()["webhook"]["id"]
    message_id = client.post(f"/api/webhooks/{webhook_id}/ping", headers=theirs).get_json()[
        "delivery"
    ]["id"]

    response = client.get(
        f"/api/webhooks/{webhook_id}/deliveries/{message_id}/attempts", headers=mine
    )
    unknown = client.get(f"/api/webhooks/{webhook_id}/deliveries/msg_nope/attempts", headers=theirs)

    assert response.status_code == unknown.status_code == 404
