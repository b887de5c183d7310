"""Listing articles and the feed: order, paging, filters, counts, and what each viewer sees."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from app.extensions import db
from blueprints.articles.models import Article
from blueprints.profiles.models import Follow
from blueprints.tags.models import ArticleTag, Tag
from tests.factories import make_article, make_user
from tests.helpers import auth_headers

START = datetime(2026, 1, 1, tzinfo=UTC)


def follow(follower, followed) -> None:
    db.session.add(Follow(follower_id=follower.id, followed_id=followed.id))
    db.session.commit()


def slugs(response) -> list[str]:
    return [article["slug"] for article in response.get_json()["articles"]]


def test_articles_are_listed_newest_first_with_the_total_count(client):
    author = make_user()
    make_article(author, title="Oldest", created_at=START)
    make_article(author, title="Newest", created_at=START + timedelta(days=2))
    make_article(author, title="Middle", created_at=START + timedelta(days=1))

    response = client.get("/api/articles")

    assert response.status_code == 200
    assert slugs(response) == ["newest", "middle", "oldest"]
    assert response.get_json()["articlesCount"] == 3


def test_articles_created_at_the_same_time_list_the_later_one_first(client):
    author = make_user()
    make_article(author, title="First", created_at=START)
    make_article(author, title="Second", created_at=START)

    assert slugs(client.get("/api/articles")) == ["second", "first"]


def test_limit_and_offset_page_through_and_the_count_is_the_total(client):
    author = make_user()
    for day in range(5):
        make_article(author, title=f"Day {day}", created_at=START + timedelta(days=day))

    first = client.get("/api/articles?limit=2")
    second = client.get("/api/articles?limit=2&offset=2")
    last = client.get("/api/articles?limit=2&offset=4")
    beyond = client.get("/api/articles?limit=2&offset=50")

    assert slugs(first) == ["day-4", "day-3"]
    assert slugs(second) == ["day-2", "day-1"]
    assert slugs(last) == ["day-0"]
    assert slugs(beyond) == []
    for response in (first, second, last, beyond):
        assert response.get_json()["articlesCount"] == 5


def test_the_default_page_is_twenty_articles(client):
    author = make_user()
    for number in range(21):
        make_article(author, title=f"Number {number}")

    response = client.get("/api/articles")

    assert len(response.get_json()["articles"]) == 20
    assert response.get_json()["articlesCount"] == 21


def test_list_items_carry_everything_but_the_body(client):
    author = make_user(username="lister", bio="b", image="i")
    make_article(author, title="Listed", description="Short", tags=["t1", "t2"])

    item = client.get("/api/articles").get_json()["articles"][0]

    assert "body" not in item
    assert item["title"] == "Listed"
    assert item["description"] == "Short"
    assert item["tagList"] == ["t1", "t2"]
    assert item["author"] == {"username": "lister", "bio": "b", "image": "i", "following": False}


def test_filters_by_tag_author_and_favoriting_user(client):
    alice, bob, fan = make_user(username="alice"), make_user(username="bob"), make_user()
    make_article(alice, title="Alice cooks", tags=["food", "life"], favorited_by=[fan])
    make_article(alice, title="Alice codes", tags=["code"])
    make_article(bob, title="Bob cooks", tags=["food"], favorited_by=[fan])
    make_article(bob, title="Bob rests", tags=["life"])

    def listed(query: str) -> tuple[set[str], int]:
        response = client.get(f"/api/articles?{query}")
        assert response.status_code == 200
        return set(slugs(response)), response.get_json()["articlesCount"]

    assert listed("tag=food") == ({"alice-cooks", "bob-cooks"}, 2)
    assert listed("author=alice") == ({"alice-cooks", "alice-codes"}, 2)
    assert listed(f"favorited={fan.username}") == ({"alice-cooks", "bob-cooks"}, 2)
    assert listed("tag=life&author=bob") == ({"bob-rests"}, 1)
    assert listed(f"tag=food&author=alice&favorited={fan.username}") == ({"alice-cooks"}, 1)
    assert listed("tag=code&favorited=bob") == (set(), 0)


def test_a_tag_pages_its_articles_in_the_lists_order_whenever_they_were_tagged(client):
    # A tag's page is read off its own index (article_tags keeps each article's created_at):
    # an article tagged later still lists at its age, and ties go by id as in the whole list.
    author = make_user()
    for number in range(6):  # two by two at one instant
        created_at = START + timedelta(seconds=number // 2)
        tags = [] if number == 1 else ["kept"]
        make_article(author, title=f"At {number}", tags=tags, created_at=created_at)
    headers = auth_headers(author)
    for slug, tags in (("at-1", ["kept"]), ("at-4", [])):
        changed = client.put(
            f"/api/articles/{slug}", json={"article": {"tagList": tags}}, headers=headers
        )
        assert changed.status_code == 200

    whole = client.get("/api/articles?limit=100")
    pages = [client.get(f"/api/articles?tag=kept&limit=2&offset={offset}") for offset in (0, 2, 4)]

    assert slugs(whole) == ["at-5", "at-4", "at-3", "at-2", "at-1", "at-0"]
    assert [slugs(page) for page in pages] == [["at-5", "at-3"], ["at-2", "at-1"], ["at-0"]]
    assert {page.get_json()["articlesCount"] for page in pages} == {5}


def test_tags_the_release_before_writes_list_in_order_on_mariadb(client):
    # During a deploy the release before migration 0011 still writes article_tags rows without
    # article_created_at: a trigger fills it from the article (SQLite serves no such deploys).
    if db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite serves no rolling deploys")
    author = make_user()
    for day in range(3):
        make_article(author, title=f"Day {day}", created_at=START + timedelta(days=day))
    tag = db.session.execute(insert(Tag).values(name="old", articles_count=2))
    tagged = db.session.scalars(select(Article.id).where(Article.slug.in_(["day-0", "day-2"])))
    # As the release before wrote them (blueprints/tags/services.py: tag_article).
    db.session.execute(
        insert(ArticleTag),
        [{"article_id": id, "tag_id": tag.inserted_primary_key[0], "position": 0} for id in tagged],
    )
    db.session.commit()

    page = client.get("/api/articles?tag=old")

    assert slugs(page) == ["day-2", "day-0"]


def test_unknown_filter_values_give_an_empty_page(client):
    make_article(make_user(username="someone"), tags=["known"])

    for query in ("tag=unknown", "author=nobody", "favorited=nobody", "tag=KNOWN"):
        response = client.get(f"/api/articles?{query}")
        assert response.get_json() == {"articles": [], "articlesCount": 0}


def test_empty_filter_values_filter_nothing(client):
    make_article(make_user())

    response = client.get("/api/articles?tag=&author=%20&favorited=")

    assert response.get_json()["articlesCount"] == 1


def test_favorites_and_following_are_shown_for_the_viewer(client):
    author, viewer, other = make_user(), make_user(), make_user()
    follow(viewer, author)
    make_article(author, title="Liked", favorited_by=[viewer, other])
    make_article(author, title="Liked by another", favorited_by=[other])
    make_article(other, title="Unrelated")

    def seen(headers) -> dict[str, tuple[bool, int, bool]]:
        articles = client.get("/api/articles", headers=headers).get_json()["articles"]
        return {
            article["slug"]: (
                article["favorited"],
                article["favoritesCount"],
                article["author"]["following"],
            )
            for article in articles
        }

    assert seen(auth_headers(viewer)) == {
        "liked": (True, 2, True),
        "liked-by-another": (False, 1, True),
        "unrelated": (False, 0, False),
    }
    assert seen({}) == {
        "liked": (False, 2, False),
        "liked-by-another": (False, 1, False),
        "unrelated": (False, 0, False),
    }


def test_a_bad_token_on_a_public_list_is_401(client):
    response = client.get("/api/articles", headers={"Authorization": "Token not-a-token"})

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("limit=0", "limit", "must be an integer from 1 to 100"),
        ("limit=101", "limit", "must be an integer from 1 to 100"),
        ("limit=ten", "limit", "must be an integer from 1 to 100"),
        ("limit=1.5", "limit", "must be an integer from 1 to 100"),
        ("offset=-1", "offset", "must be an integer of at least 0"),
        ("offset=x", "offset", "must be an integer of at least 0"),
    ],
)
def test_bad_paging_arguments_are_422(client, query, field, message):
    for path in ("/api/articles", "/api/articles/feed"):
        response = client.get(f"{path}?{query}", headers=auth_headers(make_user()))
        assert response.status_code == 422
        assert response.get_json() == {"errors": {field: [message]}}


def test_an_offset_past_any_database_limit_is_an_empty_page(client):
    make_article(make_user())

    for offset in (2**31, 2**63, 10**30):
        response = client.get(f"/api/articles?offset={offset}")
        assert response.status_code == 200
        assert response.get_json() == {"articles": [], "articlesCount": 1}


def test_a_page_of_a_hundred_is_allowed(client):
    response = client.get("/api/articles?limit=100&offset=0")

    assert response.status_code == 200


def test_the_feed_lists_only_followed_authors_newest_first(client):
    reader, followed, other, also_followed = make_user(), make_user(), make_user(), make_user()
    follow(reader, followed)
    follow(reader, also_followed)
    make_article(followed, title="Followed old", created_at=START)
    make_article(other, title="Not followed", created_at=START + timedelta(days=1))
    make_article(also_followed, title="Also followed", created_at=START + timedelta(days=2))
    make_article(reader, title="Own", created_at=START + timedelta(days=3))

    response = client.get("/api/articles/feed", headers=auth_headers(reader))

    assert response.status_code == 200
    assert slugs(response) == ["also-followed", "followed-old"]
    assert response.get_json()["articlesCount"] == 2
    authors = [article["author"]["following"] for article in response.get_json()["articles"]]
    assert authors == [True, True]


def test_the_feed_pages_like_the_list(client):
    reader, followed = make_user(), make_user()
    follow(reader, followed)
    for day in range(3):
        make_article(followed, title=f"Feed {day}", created_at=START + timedelta(days=day))

    response = client.get("/api/articles/feed?limit=1&offset=1", headers=auth_headers(reader))

    assert slugs(response) == ["feed-1"]
    assert response.get_json()["articlesCount"] == 3


def test_the_feed_of_someone_following_nobody_is_empty(client):
    make_article(make_user())

    response = client.get("/api/articles/feed", headers=auth_headers(make_user()))

    assert response.get_json() == {"articles": [], "articlesCount": 0}


def test_the_feed_requires_a_token(client):
    response = client.get("/api/articles/feed")

    assert response.status_code == 401
    assert response.get_json() == {"errors": {"token": ["is missing"]}}
