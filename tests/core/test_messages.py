"""Every validation message reads the same way, whatever the endpoint and the mistake: a short
lowercase phrase about its field ("is required", "must be a string", "is invalid"), never one
of marshmallow's default sentences ("Missing data for required field.")."""

import re

import pytest

from tests.factories import make_article, make_user
from tests.helpers import auth_headers, client_key_headers

HOUSE_VOICE = re.compile(r"(is|must|may|mixes|gives|cannot|was|has) [^A-Z].*[^.]")
WRONG_VALUES = [None, 42, 4.5, True, ["x"], {"a": 1}, "", " ", "x" * 70_000]

# (method, path, envelope, fields, who): each field is sent with each wrong value.
ENDPOINTS = [
    ("post", "/api/users", "user", ["username", "email", "password"], None),
    ("post", "/api/users/login", "user", ["email", "password"], None),
    ("put", "/api/user", "user", ["username", "email", "password", "bio", "image"], "user"),
    ("post", "/api/articles", "article", ["title", "description", "body", "tagList"], "user"),
    ("put", "/api/articles/voice", "article", ["title", "description", "body", "tagList"], "user"),
    ("post", "/api/articles/voice/comments", "comment", ["body"], "user"),
    ("post", "/api/webhooks", "webhook", ["url", "events"], "client"),
]
QUERIES = [
    "/api/articles?limit=x",
    "/api/articles?limit=0&offset=-1",
    "/api/articles/feed?limit=1000",
    "/api/webhooks?offset=ten",
]


@pytest.fixture
def requests_by_whom(client):
    author = make_user(username="voice-author")
    make_article(author, title="Voice")
    return {None: {}, "user": auth_headers(author), "client": client_key_headers()}


def messages_of(response) -> list[str]:
    assert response.status_code == 422, response.get_json()
    return [message for messages in response.get_json()["errors"].values() for message in messages]


def assert_house_voice(messages: list[str], where: str) -> None:
    assert messages, where
    for message in messages:
        assert HOUSE_VOICE.fullmatch(message), f"{where}: {message!r}"


@pytest.mark.parametrize(("method", "path", "envelope", "fields", "who"), ENDPOINTS)
def test_every_message_about_a_body_reads_the_house_way(
    client, requests_by_whom, method, path, envelope, fields, who
):
    headers = requests_by_whom[who]
    bodies = [{}] + [{field: value} for field in fields for value in WRONG_VALUES]

    for body in bodies:
        if method == "put" and not body:
            continue  # every field of an update is optional
        response = getattr(client, method)(path, json={envelope: body}, headers=headers)
        if response.status_code != 422:
            assert response.status_code < 300, response.get_json()  # some values are valid
            continue
        assert_house_voice(messages_of(response), f"{method.upper()} {path} {body!r:.80}")


@pytest.mark.parametrize("path", QUERIES)
def test_every_message_about_a_query_reads_the_house_way(client, requests_by_whom, path):
    headers = {**requests_by_whom["user"], **requests_by_whom["client"]}

    assert_house_voice(messages_of(client.get(path, headers=headers)), path)


def test_no_marshmallow_default_sentence_reaches_a_client(client):
    response = client.post(
        "/api/users", json={"user": {"username": None, "email": "not-an-address", "password": 7}}
    )

    assert response.get_json() == {
        "errors": {
            "username": ["must not be null"],
            "email": ["is invalid"],
            "password": ["must be a string"],
        }
    }
