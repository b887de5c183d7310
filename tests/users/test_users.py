"""Registration, login and the current user, as the RealWorld spec describes them."""

from datetime import timedelta

import jwt
from freezegun import freeze_time

from app.extensions import db
from blueprints.users.models import User
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.helpers import auth_headers


def register(client, **user):
    return client.post("/api/users", json={"user": user})


def test_registration_returns_the_user_with_a_token(client):
    response = register(client, username="zoë", email="Zoe@Example.com", password="s3cret-pass")

    assert response.status_code == 201
    user = response.get_json()["user"]
    assert user["username"] == "zoë"
    assert user["email"] == "zoe@example.com"
    assert user["bio"] == ""
    assert user["image"] == ""
    assert set(user) == {"email", "token", "username", "bio", "image"}
    me = client.get("/api/user", headers={"Authorization": f"Token {user['token']}"})
    assert me.get_json()["user"]["username"] == "zoë"


def test_password_is_stored_as_an_argon2id_hash(client):
    register(client, username="hashed", email="hashed@example.com", password="plain-text-pw")

    user = db.session.scalar(db.select(User).filter_by(username="hashed"))
    assert user.password_hash.startswith("$argon2id$")
    assert "plain-text-pw" not in user.password_hash


def test_duplicate_email_is_a_422_with_the_spec_error(client):
    make_user(username="first", email="taken@example.com")

    response = register(
        client, username="second", email="TAKEN@example.com", password="pw-long-enough"
    )

    assert response.status_code == 422
    assert response.get_json() == {"errors": {"email": ["has already been taken"]}}


def test_duplicate_username_and_email_are_both_reported(client):
    make_user(username="twin", email="twin@example.com")

    response = register(
        client, username="twin", email="twin@example.com", password="pw-long-enough"
    )

    assert response.status_code == 422
    assert response.get_json() == {
        "errors": {
            "email": ["has already been taken"],
            "username": ["has already been taken"],
        }
    }


def test_a_clash_found_by_the_unique_index_rolls_back_only_the_failed_write(client):
    """The unique index decides (no check-then-insert), which is what makes a race safe:
    the losing request's savepoint rolls back and rows written before it stay."""
    earlier = make_user(username="earlier")
    bystander = make_user(username="bystander")

    response = register(
        client, username="earlier", email="new@example.com", password="pw-long-enough"
    )

    assert response.status_code == 422
    assert db.session.get(User, earlier.id).username == "earlier"
    assert db.session.get(User, bystander.id).username == "bystander"
    assert db.session.scalar(db.select(User).filter_by(email="new@example.com")) is None


def test_registration_requires_every_field(client):
    response = register(client, username="", email="not-an-email")

    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"username", "email", "password"}


def test_login_with_the_right_password_returns_a_token(client):
    make_user(username="login", email="login@example.com")

    response = client.post(
        "/api/users/login",
        json={"user": {"email": "LOGIN@example.com", "password": DEFAULT_PASSWORD}},
    )

    assert response.status_code == 200
    assert response.get_json()["user"]["username"] == "login"
    assert response.get_json()["user"]["token"]


def test_login_with_a_wrong_password_is_401(client):
    make_user(username="wrongpw", email="wrongpw@example.com")

    response = client.post(
        "/api/users/login",
        json={"user": {"email": "wrongpw@example.com", "password": "nope"}},
    )

    assert response.status_code == 401
    assert response.get_json() == {"errors": {"email or password": ["is invalid"]}}


def test_login_of_an_unknown_email_is_401(client):
    response = client.post(
        "/api/users/login", json={"user": {"email": "ghost@example.com", "password": "x"}}
    )

    assert response.status_code == 401


def test_current_user_accepts_token_and_bearer_schemes(client):
    user = make_user(username="schemes")
    token = auth_headers(user)["Authorization"].split()[1]

    for scheme in ("Token", "Bearer"):
        response = client.get("/api/user", headers={"Authorization": f"{scheme} {token}"})
        assert response.status_code == 200
        assert response.get_json()["user"]["token"] == token


def test_update_changes_only_the_given_fields(client):
    user = make_user(username="before", bio="old bio")

    response = client.put(
        "/api/user",
        json={"user": {"username": "after", "image": "https://example.com/me.png"}},
        headers=auth_headers(user),
    )

    assert response.status_code == 200
    body = response.get_json()["user"]
    assert (body["username"], body["bio"]) == ("after", "old bio")
    assert body["image"] == "https://example.com/me.png"


def test_update_of_the_password_lets_the_new_one_log_in(client):
    user = make_user(username="newpw", email="newpw@example.com")

    client.put("/api/user", json={"user": {"password": "brand-new"}}, headers=auth_headers(user))

    old = {"email": "newpw@example.com", "password": DEFAULT_PASSWORD}
    new = {"email": "newpw@example.com", "password": "brand-new"}
    assert client.post("/api/users/login", json={"user": old}).status_code == 401
    assert client.post("/api/users/login", json={"user": new}).status_code == 200


def test_update_to_a_taken_username_is_422_and_changes_nothing(client):
    make_user(username="owner")
    user = make_user(username="mover", bio="kept")

    response = client.put(
        "/api/user", json={"user": {"username": "owner", "bio": "new"}}, headers=auth_headers(user)
    )

    assert response.status_code == 422
    assert response.get_json() == {"errors": {"username": ["has already been taken"]}}
    assert db.session.get(User, user.id).bio == "kept"


def test_null_bio_and_image_become_empty_strings(client):
    user = make_user(username="nulls", bio="something")

    response = client.put(
        "/api/user", json={"user": {"bio": None, "image": None}}, headers=auth_headers(user)
    )

    assert response.get_json()["user"]["bio"] == ""
    assert response.get_json()["user"]["image"] == ""


def test_an_expired_token_is_401(client, app):
    with freeze_time("2026-01-01 00:00:00"):
        user = make_user(username="expiring")
        headers = auth_headers(user)
    lifetime = timedelta(seconds=app.config["JWT_LIFETIME_SECONDS"])

    with freeze_time("2026-01-01 00:00:00") as frozen:
        frozen.tick(lifetime - timedelta(seconds=1))
        assert client.get("/api/user", headers=headers).status_code == 200
        frozen.tick(timedelta(seconds=2))
        response = client.get("/api/user", headers=headers)

    assert response.status_code == 401
    assert response.get_json() == {"errors": {"token": ["is invalid or expired"]}}


def test_a_forged_or_malformed_token_is_401(client, app):
    user = make_user(username="forged")
    claims = {"sub": str(user.id), "exp": 4102444800}
    secret = app.config["SECRET_KEY"]
    forged = [
        jwt.encode(claims, "a-different-secret-of-32-bytes-or-more", algorithm="HS256"),
        jwt.encode({**claims, "sub": str(10**30)}, secret, algorithm="HS256"),
        jwt.encode({**claims, "sub": "-1"}, secret, algorithm="HS256"),
        jwt.encode({"sub": str(user.id)}, secret, algorithm="HS256"),
        jwt.encode(claims, None, algorithm="none"),
        "not.a.token",
    ]

    for token in forged:
        response = client.get("/api/user", headers={"Authorization": f"Token {token}"})
        assert response.status_code == 401
        assert response.get_json() == {"errors": {"token": ["is invalid or expired"]}}


def test_current_user_without_a_token_is_401(client):
    response = client.get("/api/user")

    assert response.status_code == 401
    assert response.get_json() == {"errors": {"token": ["is missing"]}}
    assert response.headers["WWW-Authenticate"] == "Token"


def test_the_password_never_appears_in_a_response_or_the_log(client, caplog):
    caplog.set_level("DEBUG")

    response = register(client, username="secretive", email="s@example.com", password="hunter2!!")

    assert b"hunter2" not in response.data
    assert "hunter2" not in caplog.text
