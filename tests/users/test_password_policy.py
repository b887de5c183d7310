"""Passwords follow NIST SP 800-63B; login costs the same hash work for unknown emails."""

import pytest
from argon2 import PasswordHasher, extract_parameters

from app.extensions import db
from blueprints.users.models import User
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.helpers import auth_headers

TOO_COMMON = "is too common: choose one that is not on lists of leaked passwords"


def register(client, password: str, username: str = "policy"):
    user = {"username": username, "email": f"{username}@example.com", "password": password}
    return client.post("/api/users", json={"user": user})


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("a", "must be at least 8 characters"),
        (" ", "must be at least 8 characters"),
        ("seven77", "must be at least 8 characters"),
        ("        ", "must not be only spaces"),
        ("p" * 257, "must be at most 256 characters"),
        ("password", TOO_COMMON),
        ("Password1", TOO_COMMON),
        ("qwertyuiop", TOO_COMMON),
        ("\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44", TOO_COMMON),
    ],
)
def test_weak_passwords_are_refused_at_registration(client, password, message):
    response = register(client, password)

    assert response.status_code == 422
    assert response.get_json() == {"errors": {"password": [message]}}


def test_a_weak_password_is_refused_on_change(client):
    user = make_user()

    response = client.put(
        "/api/user", json={"user": {"password": "12345678"}}, headers=auth_headers(user)
    )

    assert response.status_code == 422
    assert "password" in response.get_json()["errors"]


@pytest.mark.parametrize("password", ["ünïcödé 密码 ok", "eight ch", "no-rules-at-all"])
def test_any_unicode_and_no_composition_rules(client, password):
    assert register(client, password).status_code == 201


def test_the_minimum_length_is_a_setting(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "PASSWORD_MIN_LENGTH", 12)

    response = register(client, "eleven-char")

    assert response.get_json() == {"errors": {"password": ["must be at least 12 characters"]}}


def test_passwords_are_nfkc_normalised_before_hashing(client):
    # Fullwidth letters and a ligature read the same as their NFKC form: either logs in.
    assert register(client, "\ufb01ne \uff50\uff41\uff53\uff53 phrase").status_code == 201

    for typed in ("fine pass phrase", "\ufb01ne \uff50\uff41\uff53\uff53 phrase"):
        credentials = {"email": "policy@example.com", "password": typed}
        response = client.post("/api/users/login", json={"user": credentials})
        assert response.status_code == 200


def test_an_unknown_email_costs_one_full_password_check(client, app, monkeypatch):
    user = make_user()
    db.session.commit()
    verified: list[str] = []
    verify = PasswordHasher.verify

    def counting_verify(self, hash, password):
        verified.append(hash)
        return verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)

    for email in (user.email, "nobody-here@example.com"):
        response = client.post(
            "/api/users/login", json={"user": {"email": email, "password": "wrong password"}}
        )
        assert response.status_code == 401

    # One argon2 verification each, both at the configured cost.
    assert len(verified) == 2
    known, unknown = (extract_parameters(hash) for hash in verified)
    assert unknown.time_cost == known.time_cost == app.config["PASSWORD_HASH_TIME_COST"]
    assert unknown.memory_cost == known.memory_cost == app.config["PASSWORD_HASH_MEMORY_KIB"]
    assert verified[1] != db.session.get(User, user.id).password_hash


def test_the_default_test_password_passes_the_policy(client):
    assert register(client, DEFAULT_PASSWORD, username="defaults").status_code == 201
