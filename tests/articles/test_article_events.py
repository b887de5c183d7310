"""Articles publish events for the webhooks service, inside the request's transaction."""

from tests.factories import make_article, make_user
from tests.helpers import auth_headers, published_events


def anonymous_view(client, slug: str) -> dict:
    return client.get(f"/api/articles/{slug}").get_json()["article"]


def test_creating_an_article_publishes_it_as_an_anonymous_viewer_sees_it(client):
    author = make_user()
    article = {"title": "Announced", "description": "d", "body": "b", "tagList": ["news"]}

    with published_events() as events:
        response = client.post(
            "/api/articles", json={"article": article}, headers=auth_headers(author)
        )

    assert response.status_code == 201
    assert events == [("article.created", {"article": anonymous_view(client, "announced")})]


def test_updating_publishes_the_new_article_without_the_authors_own_view(client):
    author = make_user()
    make_article(author, title="Revised", favorited_by=[author])

    with published_events() as events:
        response = client.put(
            "/api/articles/revised",
            json={"article": {"body": "Second thoughts"}},
            headers=auth_headers(author),
        )

    assert response.get_json()["article"]["favorited"] is True
    published = anonymous_view(client, "revised")
    assert published["body"] == "Second thoughts"
    assert published["favorited"] is False and published["favoritesCount"] == 1
    assert events == [("article.updated", {"article": published})]


def test_deleting_publishes_the_article_as_it_was(client):
    author = make_user()
    make_article(author, title="Retired", tags=["old"])
    before = anonymous_view(client, "retired")

    with published_events() as events:
        response = client.delete("/api/articles/retired", headers=auth_headers(author))

    assert response.status_code == 204
    assert events == [("article.deleted", {"article": before})]


def test_requests_that_fail_publish_nothing(client):
    author, other = make_user(), make_user()
    make_article(author, title="Steady")

    with published_events() as events:
        responses = [
            client.post(
                "/api/articles", json={"article": {"title": ""}}, headers=auth_headers(author)
            ),
            client.post("/api/articles", json={"article": {"title": "t"}}),
            client.put(
                "/api/articles/steady",
                json={"article": {"title": "Hijacked"}},
                headers=auth_headers(other),
            ),
            client.put(
                "/api/articles/steady",
                json={"article": {"title": "x" * 300}},
                headers=auth_headers(author),
            ),
            client.delete("/api/articles/steady", headers=auth_headers(other)),
            client.delete("/api/articles/missing", headers=auth_headers(author)),
        ]

    assert [response.status_code for response in responses] == [422, 401, 403, 422, 403, 404]
    assert events == []
