"""Tokens carry the user's token generation: a new password or email, or an operator's
`manage.py revoke-tokens`, ends every earlier session."""

import pytest

from app import create_app
from app.extensions import db
from app.security import issue_token
from blueprints.users.commands import revoke_tokens_command
from blueprints.users.models import User
from tests.factories import DEFAULT_PASSWORD, make_user


def me(client, token):
    return client.get("/api/user", headers={"Authorization": f"Token {token}"})


def log_in(client, user, password=DEFAULT_PASSWORD) -> str:
    credentials = {"email": user.email, "password": password}
    response = client.post("/api/users/login", json={"user": credentials})
    assert response.status_code == 200
    return response.get_json()["user"]["token"]


@pytest.mark.parametrize(
    "change", [{"password": "a brand new passphrase"}, {"email": "moved@example.com"}]
)
def test_changing_password_or_email_revokes_every_earlier_token(client, change):
    user = make_user()
    phone, laptop = log_in(client, user), log_in(client, user)

    response = client.put(
        "/api/user", json={"user": change}, headers={"Authorization": f"Token {laptop}"}
    )

    assert response.status_code == 200
    fresh = response.get_json()["user"]["token"]
    assert me(client, fresh).status_code == 200
    for old in (phone, laptop):
        refused = me(client, old)
        assert refused.status_code == 401
        assert refused.get_json() == {"errors": {"token": ["is invalid or expired"]}}


def test_changing_only_the_bio_keeps_every_token(client):
    user = make_user()
    token = log_in(client, user)

    response = client.put(
        "/api/user", json={"user": {"bio": "hi"}}, headers={"Authorization": f"Token {token}"}
    )

    assert response.get_json()["user"]["token"] == token
    assert me(client, token).status_code == 200


def test_an_operator_revokes_every_token_of_a_user(client, app):
    user, bystander = make_user(), make_user()
    token, bystander_token = log_in(client, user), log_in(client, bystander)

    result = app.test_cli_runner().invoke(revoke_tokens_command, [user.username])

    assert result.exit_code == 0, result.output
    assert f"revoked every token of user {user.id}" in result.output
    assert me(client, token).status_code == 401
    assert me(client, bystander_token).status_code == 200
    assert me(client, log_in(client, user)).status_code == 200  # logging in again works


def test_revoking_the_tokens_of_an_unknown_user_fails(app):
    result = app.test_cli_runner().invoke(revoke_tokens_command, ["nobody-at-all"])

    assert result.exit_code == 1
    assert "no user is called 'nobody-at-all'" in result.output


def test_manage_py_lists_revoke_tokens(app):
    result = app.test_cli_runner().invoke(args=["revoke-tokens", "--help"])

    assert result.exit_code == 0
    assert "End every session of USERNAME" in result.output


def test_a_token_from_before_generations_is_generation_zero(client):
    user = make_user()
    legacy = issue_token(user.id)  # no generation claim: as tokens issued before this change

    assert me(client, legacy).status_code == 200
    user = db.session.get(User, user.id)
    client.put(
        "/api/user",
        json={"user": {"password": "another new passphrase"}},
        headers={"Authorization": f"Token {legacy}"},
    )
    assert me(client, legacy).status_code == 401


def test_the_revocation_holds_for_every_process(client, connection, monkeypatch):
    """Another web process (another app on the same database) refuses the old token too."""
    user = make_user()
    token = log_in(client, user)
    client.put(
        "/api/user",
        json={"user": {"password": "yet another passphrase"}},
        headers={"Authorization": f"Token {token}"},
    )
    other = create_app("test")
    with other.app_context():
        engine = db.engines[None]
        db.engines[None] = connection  # type: ignore[index]
        try:
            assert me(other.test_client(), token).status_code == 401
        finally:
            db.session.remove()
            db.engines[None] = engine  # type: ignore[index]
            engine.dispose()
