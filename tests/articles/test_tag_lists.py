"""`tagList` as a RealWorld client sees it: sorted by name on every path, whatever order the
tags were sent in, with blank tags dropped like repeated ones."""

import pytest

from tests.factories import make_article, make_user
from tests.helpers import auth_headers

SENT = ["zeta", "Beta", "alpha", "zeta", "mu"]
SORTED = ["Beta", "alpha", "mu", "zeta"]  # by code point, as every answer shows them


def test_tag_list_is_sorted_on_every_path(client):
    author, reader = make_user(username="sorter"), make_user()
    client.post(f"/api/profiles/{author.username}/follow", headers=auth_headers(reader))
    article = {"title": "Sorted", "description": "d", "body": "b", "tagList": SENT}

    created = client.post("/api/articles", json={"article": article}, headers=auth_headers(author))
    read = client.get("/api/articles/sorted")
    listed = client.get("/api/articles")
    by_tag = client.get("/api/articles?tag=mu")
    feed = client.get("/api/articles/feed", headers=auth_headers(reader))
    favorited = client.post("/api/articles/sorted/favorite", headers=auth_headers(reader))
    retagged = client.put(
        "/api/articles/sorted",
        json={"article": {"tagList": ["nu", "Omega", "nu", "eta"]}},
        headers=auth_headers(author),
    )
    renamed = client.put(
        "/api/articles/sorted", json={"article": {"title": "Still"}}, headers=auth_headers(author)
    )

    assert created.status_code == 201
    for response in (created, read, favorited):
        assert response.get_json()["article"]["tagList"] == SORTED
    for response in (listed, by_tag, feed):
        assert response.get_json()["articles"][0]["tagList"] == SORTED
    assert retagged.get_json()["article"]["tagList"] == ["Omega", "eta", "nu"]
    assert renamed.get_json()["article"]["tagList"] == ["Omega", "eta", "nu"]
    assert client.get("/api/articles/still").get_json()["article"]["tagList"] == [
        "Omega",
        "eta",
        "nu",
    ]


def test_tags_given_in_another_order_read_the_same(client):
    author = make_user()
    make_article(author, title="One", tags=["b", "c", "a"])
    make_article(author, title="Two", tags=["c", "a", "b"])

    lists = [item["tagList"] for item in client.get("/api/articles").get_json()["articles"]]

    assert lists == [["a", "b", "c"], ["a", "b", "c"]]


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_a_blank_tag_is_dropped_like_a_repeated_one(client, blank):
    author = make_user()
    article = {"title": "Enter twice", "description": "d", "body": "b"}

    created = client.post(
        "/api/articles",
        json={"article": {**article, "tagList": ["news", blank, "news", blank]}},
        headers=auth_headers(author),
    )
    updated = client.put(
        "/api/articles/enter-twice",
        json={"article": {"tagList": [blank, "tech"]}},
        headers=auth_headers(author),
    )

    assert created.status_code == 201
    assert created.get_json()["article"]["tagList"] == ["news"]
    assert updated.status_code == 200
    assert updated.get_json()["article"]["tagList"] == ["tech"]
    assert client.get("/api/tags").get_json() == {"tags": ["tech"]}


def test_only_blank_tags_give_an_article_without_tags(client):
    response = client.post(
        "/api/articles",
        json={"article": {"title": "T", "description": "d", "body": "b", "tagList": ["", " "]}},
        headers=auth_headers(make_user()),
    )

    assert response.status_code == 201
    assert response.get_json()["article"]["tagList"] == []
