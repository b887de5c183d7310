"""Webhook secrets are encrypted at rest with rotatable keys; after rotate-secret the old and
the new secret both sign for an overlap window, as Standard Webhooks allows."""

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from freezegun import freeze_time
from sqlalchemy import select, update
from standardwebhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from app.extensions import db
from app.types import utcnow
from blueprints.webhooks.commands import reencrypt_webhook_secrets_command
from blueprints.webhooks.delivery import attempt_delivery
from blueprints.webhooks.models import Delivery, Webhook
from blueprints.webhooks.outbox import event_body, record_delivery
from blueprints.webhooks.secrets import SecretKeysError
from config import ConfigError, get_config
from tests.helpers import client_key_headers, set_production_secrets
from tests.webhooks.support import sent_tasks

WEBHOOKS = Webhook.__table__

pytestmark = pytest.mark.usefixtures("private_targets")


def stored_secret(webhook_id: int) -> str:
    return db.session.execute(
        select(WEBHOOKS.c.secret).where(WEBHOOKS.c.id == webhook_id)
    ).scalar_one()


def register(client, headers, url="http://127.0.0.1:9/hook"):
    webhook = {"url": url, "events": ["article.created"]}
    response = client.post("/api/webhooks", json={"webhook": webhook}, headers=headers)
    assert response.status_code == 201
    return response.get_json()["webhook"]


def deliver_once(webhook_id: int) -> Delivery:
    delivery = record_delivery(webhook_id, "webhook.ping", event_body("webhook.ping", {}))
    db.session.commit()
    sent_tasks()
    attempt_delivery(delivery.message_id)
    return delivery


def test_a_secret_is_stored_encrypted(client):
    created = register(client, client_key_headers())

    stored = stored_secret(created["id"])

    assert created["secret"].startswith("whsec_")
    assert created["secret"] not in stored
    assert created["secret"][len("whsec_") :] not in stored
    assert db.session.get(Webhook, created["id"]).secret == created["secret"]


def test_rotating_keys_keeps_secrets_readable_then_reencrypts_them(client, app, monkeypatch):
    created = register(client, client_key_headers())
    old_key = app.config["WEBHOOK_SECRET_KEYS"][0]
    new_key = Fernet.generate_key().decode()
    monkeypatch.setitem(app.config, "WEBHOOK_SECRET_KEYS", [new_key, old_key])
    before = stored_secret(created["id"])

    result = app.test_cli_runner().invoke(reencrypt_webhook_secrets_command)

    assert result.exit_code == 0, result.output
    assert "re-encrypted the secrets of" in result.output
    assert stored_secret(created["id"]) != before
    monkeypatch.setitem(app.config, "WEBHOOK_SECRET_KEYS", [new_key])  # the old key retired
    assert (
        db.session.get(Webhook, created["id"], populate_existing=True).secret == (created["secret"])
    )


def test_a_plain_secret_from_before_encryption_is_read_then_encrypted(client, app):
    created = register(client, client_key_headers())
    db.session.execute(
        update(WEBHOOKS).where(WEBHOOKS.c.id == created["id"]).values(secret=created["secret"])
    )
    db.session.commit()

    assert (
        db.session.get(Webhook, created["id"], populate_existing=True).secret == (created["secret"])
    )
    app.test_cli_runner().invoke(reencrypt_webhook_secrets_command)
    assert created["secret"] not in stored_secret(created["id"])
    assert (
        db.session.get(Webhook, created["id"], populate_existing=True).secret == (created["secret"])
    )


def test_without_the_right_key_a_secret_cannot_be_read(client, app, monkeypatch):
    created = register(client, client_key_headers())
    monkeypatch.setitem(app.config, "WEBHOOK_SECRET_KEYS", [Fernet.generate_key().decode()])

    with pytest.raises(SecretKeysError, match="WEBHOOK_SECRET_KEYS"):
        db.session.get(Webhook, created["id"], populate_existing=True).secret  # noqa: B018


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        (None, "WEBHOOK_SECRET_KEYS is not set"),
        ("F98NCK383uEjWuErOmudanQcFoBbSfvObkwge323g3o=", "holds the development key"),
        ("not-a-key", "must list Fernet keys"),
    ],
)
def test_production_refuses_to_start_without_real_secret_keys(monkeypatch, keys, problem):
    monkeypatch.setenv("DATABASE_URL", "mysql://root@127.0.0.1/conduit")
    set_production_secrets(monkeypatch)
    if keys is None:
        monkeypatch.delenv("WEBHOOK_SECRET_KEYS")
    else:
        monkeypatch.setenv("WEBHOOK_SECRET_KEYS", keys)

    with pytest.raises(ConfigError, match=problem):
        get_config("production")


def test_after_a_rotation_both_secrets_sign_until_the_overlap_ends(
    client, app, receiver, monkeypatch
):
    monkeypatch.setitem(app.config, "WEBHOOK_SECRET_OVERLAP_SECONDS", 3600)
    headers = client_key_headers()
    created = register(client, headers, url=receiver.url("/rotation-overlap"))
    rotated = client.post(f"/api/webhooks/{created['id']}/rotate-secret", headers=headers)
    old_secret, new_secret = created["secret"], rotated.get_json()["webhook"]["secret"]

    deliver_once(created["id"])
    with freeze_time(utcnow() + timedelta(seconds=3601)):
        deliver_once(created["id"])

    during, after = receiver.requests("/rotation-overlap")
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    for secret in (old_secret, new_secret):
        StandardWebhook(secret).verify(during.body, during.headers)
    with freeze_time(utcnow() + timedelta(seconds=3601)):
        StandardWebhook(new_secret).verify(after.body, after.headers)
        with pytest.raises(WebhookVerificationError):
            StandardWebhook(old_secret).verify(after.body, after.headers)


def test_with_no_overlap_the_old_secret_stops_at_once(client, app, receiver, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_SECRET_OVERLAP_SECONDS", 0)
    headers = client_key_headers()
    created = register(client, headers, url=receiver.url("/rotation-no-overlap"))
    rotated = client.post(f"/api/webhooks/{created['id']}/rotate-secret", headers=headers)

    deliver_once(created["id"])

    [received] = receiver.requests("/rotation-no-overlap")
    StandardWebhook(rotated.get_json()["webhook"]["secret"]).verify(received.body, received.headers)
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(created["secret"]).verify(received.body, received.headers)
