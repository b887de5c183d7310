"""API clients: keys made by commands, shown once, stored hashed, checked on each request."""

import hashlib
import re

import pytest
from flask.cli import ScriptInfo

from app.extensions import db
from blueprints.clients.models import Client
from blueprints.clients.services import create_client
from tests.factories import make_user
from tests.helpers import client_key_headers

KEY_PATTERN = re.compile(r"ck_[0-9a-f]{12}_[A-Za-z0-9_-]{43,}")


@pytest.fixture
def run_command(app):
    runner = app.test_cli_runner()

    def run(*args):
        return runner.invoke(args=list(args), obj=ScriptInfo(create_app=lambda: app))

    return run


def test_create_client_prints_a_key_once_and_stores_only_its_hash(run_command):
    result = run_command("create-client", "Reader app")

    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert KEY_PATTERN.fullmatch(key)
    client = db.session.scalar(db.select(Client).filter_by(name="Reader app"))
    assert client.key_prefix == key[:15]
    assert client.key_hash == hashlib.sha256(key.encode()).hexdigest()
    stored = [str(value) for value in vars(client).values()]
    assert not any(key in value for value in stored)


def test_every_key_is_different():
    keys = {create_client(f"app {n}")[1] for n in range(20)}

    assert len(keys) == 20


def test_list_clients_shows_prefix_name_and_status_but_no_key(run_command):
    _, key = create_client("Listed")
    revoked, _ = create_client("Gone")
    revoked.revoke()
    db.session.commit()

    output = run_command("list-clients").output

    assert re.search(rf"{key[:15]}\t\S+ \S+\tactive\tListed", output)
    assert re.search(rf"{revoked.key_prefix}\t\S+ \S+\trevoked \S+ \S+\tGone", output)
    assert key not in output


def test_revoke_client_by_prefix_or_id_stops_its_key(client, run_command):
    headers = client_key_headers("Doomed")
    assert client.get("/api/webhooks", headers=headers).status_code == 200

    result = run_command("revoke-client", headers["X-Client-Key"][:15])

    assert result.exit_code == 0
    response = client.get("/api/webhooks", headers=headers)
    assert response.status_code == 401
    assert response.get_json() == {"errors": {"X-Client-Key": ["has been revoked"]}}
    other, _ = create_client("Other")
    db.session.commit()
    assert run_command("revoke-client", str(other.id)).exit_code == 0
    assert other.revoked


def test_revoking_an_unknown_client_fails_and_says_so(run_command):
    result = run_command("revoke-client", "ck_000000000000")

    assert result.exit_code == 1
    assert "no client 'ck_000000000000'" in result.output


def test_a_client_needs_a_name(run_command):
    assert run_command("create-client", "  ").exit_code == 2


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "is missing"),
        ("", "is missing"),
        ("not-a-key", "is invalid"),
        ("ck_0123456789ab_" + "x" * 43, "is invalid"),
        ("ck_ünïcødé_ü", "is invalid"),
    ],
)
def test_webhooks_refuse_a_missing_or_unknown_key(client, key, message):
    headers = {} if key is None else {"X-Client-Key": key}

    response = client.get("/api/webhooks", headers=headers)

    assert response.status_code == 401
    assert response.get_json() == {"errors": {"X-Client-Key": [message]}}


def test_a_known_prefix_with_the_wrong_secret_is_refused(client):
    real = client_key_headers()["X-Client-Key"]
    forged = real[:16] + ("A" if real[16] != "A" else "B") + real[17:]

    response = client.get("/api/webhooks", headers={"X-Client-Key": forged})

    assert response.status_code == 401


def test_realworld_endpoints_need_no_key_by_default(client):
    make_user(username="open")

    assert client.get("/api/profiles/open").status_code == 200


def test_client_key_required_guards_the_realworld_endpoints(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "CLIENT_KEY_REQUIRED", True)
    make_user(username="guarded")
    headers = client_key_headers()

    refused = client.get("/api/profiles/guarded")
    bad = client.get("/api/profiles/guarded", headers={"X-Client-Key": "nope"})
    allowed = client.get("/api/profiles/guarded", headers=headers)

    assert refused.status_code == 401
    assert refused.get_json() == {"errors": {"X-Client-Key": ["is missing"]}}
    assert bad.status_code == 401
    assert allowed.status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.options("/api/profiles/guarded").status_code == 200
