"""Answers are written by orjson, and read back as what the view returned."""

import json
from datetime import UTC, datetime

import pytest

from app.responses import raw_json
from tests.factories import make_article, make_user


def test_text_beyond_ascii_is_answered_as_utf8_and_reads_back_the_same(client):
    author = make_user(username="zoe", bio="Zoë écrit 日本語")
    make_article(author, title="Café ☕", tags=["naïve"])

    response = client.get("/api/articles")

    article = response.get_json()["articles"][0]
    assert (article["title"], article["tagList"]) == ("Café ☕", ["naïve"])
    assert article["author"]["bio"] == "Zoë écrit 日本語"
    assert "Café ☕".encode() in response.get_data()


@pytest.mark.parametrize(
    "value",
    [2**70, "half a pair \ud800", {"when": datetime(2026, 12, 4, 12, 0, tzinfo=UTC)}],
    ids=["integer past 64 bits", "lone surrogate", "datetime"],
)
def test_what_orjson_refuses_or_leaves_to_flask_is_answered_as_flask_answered_it(app, value):
    with app.test_request_context():
        body = app.json.response({"value": value}).get_data(as_text=True)

    assert json.loads(body) == json.loads(json.dumps({"value": value}, default=app.json.default))


def test_raw_json_is_spliced_as_it_is(app):
    with app.test_request_context():
        body = app.json.response({"tagList": raw_json('["a","b"]'), "n": 1}).get_data()

    assert body == b'{"tagList":["a","b"],"n":1}\n'
