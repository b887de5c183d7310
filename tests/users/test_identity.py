"""No look-alike usernames; emails normalised once and compared exactly; every looked-up text
column compares exactly on SQLite and MariaDB alike."""

import uuid

import pytest

from app.extensions import db
from blueprints.clients.queries import find_client, find_client_by_reference
from blueprints.clients.services import create_client
from blueprints.users.models import User
from tests.factories import DEFAULT_PASSWORD, make_article, make_user
from tests.helpers import auth_headers

FULLWIDTH_ADMIN = "\uff21\uff24\uff2d\uff29\uff2e"  # ADMIN in fullwidth letters
CYRILLIC_A_ADMIN = "\u0430dmin"  # the first letter is Cyrillic


def register(client, username, email=None, password=DEFAULT_PASSWORD):
    email = email or f"{uuid.uuid4().hex}@example.com"
    user = {"username": username, "email": email, "password": password}
    return client.post("/api/users", json={"user": user})


def login(client, email, password=DEFAULT_PASSWORD):
    return client.post("/api/users/login", json={"user": {"email": email, "password": password}})


@pytest.mark.parametrize(
    ("look_alike", "message"),
    [
        ("admin", "has already been taken"),
        ("Admin", "is too similar to an existing username"),
        ("ADMIN", "is too similar to an existing username"),
        (FULLWIDTH_ADMIN, "is too similar to an existing username"),
    ],
)
def test_a_look_alike_of_an_existing_name_is_refused(client, look_alike, message):
    assert register(client, "admin").status_code == 201

    response = register(client, look_alike)

    assert response.status_code == 422
    assert response.get_json() == {"errors": {"username": [message]}}


def test_digits_that_pass_for_letters_are_look_alikes(client):
    assert register(client, "paypal").status_code == 201

    response = register(client, "PAYPA1")

    assert response.get_json() == {
        "errors": {"username": ["is too similar to an existing username"]}
    }


def test_a_name_mixing_scripts_confusably_is_refused(client):
    response = register(client, CYRILLIC_A_ADMIN)

    assert response.status_code == 422
    assert response.get_json() == {
        "errors": {"username": ["mixes scripts in a way that imitates other names"]}
    }


def test_a_look_alike_is_refused_on_rename_too(client):
    make_user(username="admin")
    other = make_user()

    response = client.put(
        "/api/user", json={"user": {"username": "Admin"}}, headers=auth_headers(other)
    )

    assert response.status_code == 422
    assert response.get_json() == {
        "errors": {"username": ["is too similar to an existing username"]}
    }


@pytest.mark.parametrize("name", ["zoë", "日本語", "Олег", "zoë.smith-99", "straße"])
def test_names_in_one_script_are_welcome(client, name):
    assert register(client, name).status_code == 201


def test_usernames_are_stored_nfkc_normalised(client):
    response = register(client, FULLWIDTH_ADMIN)

    assert response.get_json()["user"]["username"] == "ADMIN"
    assert client.get("/api/profiles/ADMIN").status_code == 200


def test_profiles_keep_their_exact_names(client):
    make_user(username="Zoe")

    assert client.get("/api/profiles/Zoe").status_code == 200
    assert client.get("/api/profiles/zoe").status_code == 404


def test_an_accented_email_is_another_address(client):
    make_user(username="zoe", email="zoe@example.com")

    response = register(client, "zoe2", email="zoë@example.com")

    assert response.status_code == 201
    assert response.get_json()["user"]["email"] == "zoë@example.com"
    assert login(client, "zoë@example.com").status_code == 200
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) >= 2


def test_logging_in_with_an_accented_look_alike_email_does_not_open_the_account(client):
    make_user(username="zoe", email="zoe@example.com")

    response = login(client, "zoë@example.com")

    assert response.status_code == 401


def test_emails_are_normalised_once(client):
    response = register(client, "bookish", email="Reader@BÜCHER.example")

    assert response.status_code == 201
    assert response.get_json()["user"]["email"] == "reader@xn--bcher-kva.example"
    for typed in ("reader@bücher.example", "READER@xn--bcher-kva.example"):
        assert login(client, typed).status_code == 200


def test_the_same_address_in_another_case_is_taken(client):
    make_user(username="first", email="taken@example.com")

    response = register(client, "second", email="Taken@Example.COM")

    assert response.get_json() == {"errors": {"email": ["has already been taken"]}}


def test_slugs_and_tags_compare_exactly(client):
    author = make_user()
    make_article(author, title="Zoë", tags=["café"])
    db.session.commit()

    assert client.get("/api/articles/zoë").status_code == 200
    assert client.get("/api/articles/zoe").status_code == 404
    assert client.get("/api/articles?tag=cafe").get_json()["articlesCount"] == 0
    assert client.get("/api/articles?tag=café").get_json()["articlesCount"] == 1


def test_a_client_key_prefix_compares_exactly(app):
    client, key = create_client("exact prefix")
    db.session.commit()
    upper_prefix = client.key_prefix.upper().replace("CK_", "ck_")

    assert find_client_by_reference(client.key_prefix) == client
    assert find_client_by_reference(upper_prefix) is None
    assert find_client(upper_prefix + key[len(upper_prefix) :]) is None
