"""Favoriting and unfavoriting articles."""

from sqlalchemy import func, select

from app.extensions import db
from blueprints.articles.models import Favorite
from tests.factories import make_article, make_user
from tests.helpers import auth_headers


def test_favoriting_answers_the_article_favorited_and_is_idempotent(client):
    author, fan = make_user(), make_user()
    make_article(author, title="Likeable")

    first = client.post("/api/articles/likeable/favorite", headers=auth_headers(fan))
    second = client.post("/api/articles/likeable/favorite", headers=auth_headers(fan))

    for response in (first, second):
        assert response.status_code == 200
        article = response.get_json()["article"]
        assert (article["slug"], article["favorited"], article["favoritesCount"]) == (
            "likeable",
            True,
            1,
        )
    assert db.session.scalar(select(func.count()).select_from(Favorite)) == 1


def test_favorites_count_for_everyone_and_show_as_favorited_only_to_the_fan(client):
    author, fan, other = make_user(), make_user(), make_user()
    make_article(author, title="Popular", favorited_by=[other])

    client.post("/api/articles/popular/favorite", headers=auth_headers(fan))

    as_fan = client.get("/api/articles/popular", headers=auth_headers(fan)).get_json()
    as_author = client.get("/api/articles/popular", headers=auth_headers(author)).get_json()
    anonymous = client.get("/api/articles/popular").get_json()
    assert as_fan["article"]["favorited"] is True
    assert as_author["article"]["favorited"] is False
    assert anonymous["article"]["favorited"] is False
    for seen in (as_fan, as_author, anonymous):
        assert seen["article"]["favoritesCount"] == 2


def test_unfavoriting_answers_the_article_unfavorited_and_is_idempotent(client):
    author, fan = make_user(), make_user()
    make_article(author, title="Fickle", favorited_by=[fan])

    for _ in range(2):
        response = client.delete("/api/articles/fickle/favorite", headers=auth_headers(fan))
        assert response.status_code == 200
        article = response.get_json()["article"]
        assert (article["favorited"], article["favoritesCount"]) == (False, 0)


def test_favoriting_requires_a_token_and_a_known_article(client):
    make_article(make_user(), title="Guarded")
    fan = make_user()

    assert client.post("/api/articles/guarded/favorite").status_code == 401
    assert client.delete("/api/articles/guarded/favorite").status_code == 401
    for method in (client.post, client.delete):
        response = method("/api/articles/nothing/favorite", headers=auth_headers(fan))
        assert response.status_code == 404
        assert response.get_json() == {"errors": {"body": ["article not found"]}}
