"""Production refuses public or guessable signing keys; keys rotate through fallbacks."""

import re
from pathlib import Path

import jwt
import pytest

from app.extensions import db
from app.security import issue_token
from config import ConfigError, get_config
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.helpers import PRODUCTION_SECRET_KEY, set_production_secrets

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED = re.compile(r"SECRET_KEY=['\"]?([^\s'\"`]+)")


def documented_keys() -> list[str]:
    keys = []
    for name in (".env.example", "README.md"):
        keys += DOCUMENTED.findall((PROJECT_ROOT / name).read_text(encoding="utf-8"))
    return keys


@pytest.fixture
def production(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://root@127.0.0.1/conduit")
    monkeypatch.delenv("SECRET_KEY_FALLBACKS", raising=False)
    set_production_secrets(monkeypatch)


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("development-secret-key-do-not-use-in-production", "is a public example value"),
        (" " * 32, "has fewer than 16 distinct characters"),
        ("a" * 48, "has fewer than 16 distinct characters"),
        ("0123456789abcdefghij" * 3, "repeats one pattern"),
        ("short", "must be at least 32 bytes"),
    ],
)
def test_production_refuses_public_or_guessable_keys(monkeypatch, production, key, reason):
    monkeypatch.setenv("SECRET_KEY", key)

    with pytest.raises(ConfigError) as refused:
        get_config("production")

    message = str(refused.value)
    assert f"SECRET_KEY {reason}" in message
    assert "secrets.token_urlsafe(48)" in message  # says how to make a good one


def test_production_refuses_every_key_shown_in_the_docs(monkeypatch, production):
    keys = documented_keys()
    assert keys  # .env.example shows the development key

    for key in keys:
        monkeypatch.setenv("SECRET_KEY", key)
        with pytest.raises(ConfigError, match="SECRET_KEY"):
            get_config("production")


def test_production_refuses_a_weak_fallback_key(monkeypatch, production):
    monkeypatch.setenv("SECRET_KEY", PRODUCTION_SECRET_KEY)
    monkeypatch.setenv("SECRET_KEY_FALLBACKS", "x" * 40)

    with pytest.raises(ConfigError, match="SECRET_KEY_FALLBACKS: key 1"):
        get_config("production")


def test_production_accepts_a_random_key(monkeypatch, production):
    monkeypatch.setenv("SECRET_KEY", PRODUCTION_SECRET_KEY)

    assert get_config("production").SECRET_KEY == PRODUCTION_SECRET_KEY


def test_a_token_signed_with_a_fallback_key_still_works(client, app, monkeypatch):
    user = make_user()
    db.session.commit()
    old_key = app.config["SECRET_KEY"]
    old_token = issue_token(user.id)
    monkeypatch.setitem(app.config, "SECRET_KEY", "a-new-key-" + PRODUCTION_SECRET_KEY)
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", [old_key])

    response = client.get("/api/user", headers={"Authorization": f"Token {old_token}"})
    assert response.status_code == 200
    new_token = client.post(
        "/api/users/login", json={"user": {"email": user.email, "password": DEFAULT_PASSWORD}}
    ).get_json()["user"]["token"]
    assert jwt.decode(new_token, app.config["SECRET_KEY"], algorithms=["HS256"])["sub"]

    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", [])
    response = client.get("/api/user", headers={"Authorization": f"Token {old_token}"})
    assert response.status_code == 401


def test_a_token_signed_with_an_unknown_key_is_refused_even_with_fallbacks(
    client, app, monkeypatch
):
    user = make_user()
    db.session.commit()
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", ["one-old-" + PRODUCTION_SECRET_KEY])
    forged = jwt.encode(
        {"sub": str(user.id), "exp": 4102444800}, "guessed-" + PRODUCTION_SECRET_KEY, "HS256"
    )

    response = client.get("/api/user", headers={"Authorization": f"Token {forged}"})

    assert response.status_code == 401
