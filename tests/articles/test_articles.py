"""Writing, reading, changing and deleting one article, as the RealWorld spec describes them."""

import re
from datetime import UTC, datetime

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from app.extensions import db
from blueprints.articles.models import Article, Favorite
from blueprints.comments.models import Comment
from tests.factories import make_article, make_comment, make_user
from tests.helpers import auth_headers, counted_queries

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def post_article(client, user, **article):
    article = {"title": "A title", "description": "About it", "body": "Text", **article}
    return client.post("/api/articles", json={"article": article}, headers=auth_headers(user))


def put_article(client, user, slug, **changes):
    return client.put(
        f"/api/articles/{slug}", json={"article": changes}, headers=auth_headers(user)
    )


def test_creating_an_article_answers_201_with_the_article(client):
    author = make_user(username="writer", bio="I write", image="https://example.com/w.png")

    with freeze_time("2026-11-25 16:21:30.123456"):
        response = post_article(
            client,
            author,
            title="How to train your dragon",
            description="Ever wonder how?",
            body="You have to believe",
            tagList=["dragons", "training"],
        )

    assert response.status_code == 201
    assert response.get_json() == {
        "article": {
            "slug": "how-to-train-your-dragon",
            "title": "How to train your dragon",
            "description": "Ever wonder how?",
            "body": "You have to believe",
            "tagList": ["dragons", "training"],
            "createdAt": "2026-11-25T16:21:30.123Z",
            "updatedAt": "2026-11-25T16:21:30.123Z",
            "favorited": False,
            "favoritesCount": 0,
            "author": {
                "username": "writer",
                "bio": "I write",
                "image": "https://example.com/w.png",
                "following": False,
            },
        }
    }


def test_an_article_reads_back_by_its_slug_for_anyone(client):
    author = make_user(username="reader-author")
    created = post_article(client, author, title="Readable", tagList=["x"]).get_json()["article"]

    anonymous = client.get("/api/articles/readable")
    own = client.get("/api/articles/readable", headers=auth_headers(author))

    assert anonymous.status_code == own.status_code == 200
    assert anonymous.get_json() == own.get_json() == {"article": created}
    assert TIMESTAMP.match(created["createdAt"]) and TIMESTAMP.match(created["updatedAt"])


def test_slugs_keep_the_letters_of_every_script(client):
    author = make_user()

    response = post_article(client, author, title="Zoë 日本語")

    slug = response.get_json()["article"]["slug"]
    assert slug == "zoë-日本語"
    assert client.get("/api/articles/zoë-日本語").status_code == 200
    percent_encoded = "/api/articles/zo%C3%AB-%E6%97%A5%E6%9C%AC%E8%AA%9E"
    assert client.get(percent_encoded).get_json()["article"]["title"] == "Zoë 日本語"


def test_slugs_differing_only_by_accent_or_case_are_different_articles(client):
    author = make_user()
    post_article(client, author, title="Zoe")
    post_article(client, author, title="Zoë")

    assert client.get("/api/articles/zoe").get_json()["article"]["title"] == "Zoe"
    assert client.get("/api/articles/zoë").get_json()["article"]["title"] == "Zoë"
    assert client.get("/api/articles/ZOE").status_code == 404


def test_a_title_without_letters_or_digits_gets_a_fallback_slug(client):
    response = post_article(client, make_user(), title="!!! 🙂 ???")

    assert response.status_code == 201
    assert response.get_json()["article"]["slug"] == "article"


def test_a_second_article_with_the_same_title_gets_a_distinct_slug(client):
    author = make_user()
    first = post_article(client, author, title="Hello").get_json()["article"]

    with counted_queries() as statements:
        second = post_article(client, author, title="Hello").get_json()["article"]

    assert first["slug"] == "hello"
    assert re.fullmatch(r"hello-[0-9a-f]{8}", second["slug"])
    assert client.get(f"/api/articles/{second['slug']}").status_code == 200
    # The unique index decides, not a check beforehand: the insert of "hello" was refused and
    # rolled back to its savepoint, then the suffixed slug went in.
    inserts = [sql for sql in statements if sql.startswith("INSERT INTO articles")]
    assert len(inserts) == 2


def test_a_long_title_gives_a_slug_cut_at_a_word_boundary(client):
    title = "word " * 51  # 255 characters

    slug = post_article(client, make_user(), title=title.strip()).get_json()["article"]["slug"]

    assert len(slug) <= 200
    assert slug.endswith("-word") or slug == "word"
    assert set(slug.split("-")) == {"word"}


def test_the_slug_follows_a_changed_title(client):
    author = make_user()
    post_article(client, author, title="Old title")

    response = put_article(client, author, "old-title", title="New title")

    assert response.status_code == 200
    assert response.get_json()["article"]["slug"] == "new-title"
    assert client.get("/api/articles/new-title").status_code == 200
    assert client.get("/api/articles/old-title").status_code == 404


def test_a_new_title_that_reads_the_same_keeps_the_slug(client):
    author = make_user()
    post_article(client, author, title="Same")
    suffixed = post_article(client, author, title="Same").get_json()["article"]["slug"]

    kept = put_article(client, author, "same", title="Same!").get_json()["article"]
    kept_suffixed = put_article(client, author, suffixed, title="SAME").get_json()["article"]

    assert kept["slug"] == "same" and kept["title"] == "Same!"
    assert kept_suffixed["slug"] == suffixed and kept_suffixed["title"] == "SAME"


def test_a_new_title_whose_slug_is_taken_gets_a_suffix(client):
    author = make_user()
    post_article(client, author, title="Taken")
    post_article(client, author, title="Free")

    moved = put_article(client, author, "free", title="Taken").get_json()["article"]

    assert re.fullmatch(r"taken-[0-9a-f]{8}", moved["slug"])
    assert client.get("/api/articles/taken").get_json()["article"]["title"] == "Taken"


def test_tag_lists_are_sorted_stripped_and_drop_repeats(client):
    response = post_article(client, make_user(), tagList=["zeta", "alpha", "zeta", " mid "])

    assert response.get_json()["article"]["tagList"] == ["alpha", "mid", "zeta"]
    assert client.get("/api/articles/a-title").get_json()["article"]["tagList"] == [
        "alpha",
        "mid",
        "zeta",
    ]


def test_an_article_without_tags_has_an_empty_tag_list(client):
    author = make_user()
    without = post_article(client, author, title="No tags").get_json()["article"]
    with_null = post_article(client, author, title="Null tags", tagList=None).get_json()

    assert without["tagList"] == []
    assert with_null["article"]["tagList"] == []


def test_unknown_fields_are_ignored(client):
    response = post_article(client, make_user(), slug="chosen", favoritesCount=99, author="x")

    assert response.status_code == 201
    article = response.get_json()["article"]
    assert article["slug"] == "a-title"
    assert article["favoritesCount"] == 0


def test_an_unknown_slug_is_404(client):
    user = make_user()

    responses = [
        client.get("/api/articles/nothing-here"),
        put_article(client, user, "nothing-here", title="x"),
        client.delete("/api/articles/nothing-here", headers=auth_headers(user)),
    ]

    for response in responses:
        assert response.status_code == 404
        assert response.get_json() == {"errors": {"body": ["article not found"]}}


def test_an_update_changes_only_the_given_fields_and_the_update_time(client):
    author = make_user()
    with freeze_time("2026-01-01 10:00:00"):
        post_article(client, author, title="Stable", description="Old", tagList=["kept"])

    with freeze_time("2026-01-02 12:30:00.5"):
        response = put_article(client, author, "stable", description="New", body="Rewritten")

    article = response.get_json()["article"]
    assert article["title"] == "Stable"
    assert article["description"] == "New"
    assert article["body"] == "Rewritten"
    assert article["tagList"] == ["kept"]
    assert article["createdAt"] == "2026-01-01T10:00:00.000Z"
    assert article["updatedAt"] == "2026-01-02T12:30:00.500Z"


def test_an_update_may_replace_the_tag_list(client):
    author = make_user()
    post_article(client, author, title="Retagged", tagList=["one", "two"])

    response = put_article(client, author, "retagged", tagList=["three", "one"])

    assert response.get_json()["article"]["tagList"] == ["one", "three"]
    assert client.get("/api/tags").get_json() == {"tags": ["one", "three"]}


def test_an_empty_update_changes_nothing(client):
    author = make_user()
    before = post_article(client, author, title="Untouched").get_json()["article"]

    response = put_article(client, author, "untouched")

    assert response.status_code == 200
    assert response.get_json()["article"] == before


def test_only_the_author_may_change_or_delete_an_article(client):
    author, other = make_user(), make_user()
    make_article(author, title="Mine")

    update = put_article(client, other, "mine", title="Theirs")
    delete = client.delete("/api/articles/mine", headers=auth_headers(other))

    for response in (update, delete):
        assert response.status_code == 403
        assert response.get_json() == {
            "errors": {"body": ["only the author may change this article"]}
        }
    assert client.get("/api/articles/mine").get_json()["article"]["title"] == "Mine"


def test_writing_requires_a_token(client):
    make_article(make_user(), title="Guarded")

    responses = [
        client.post("/api/articles", json={"article": {"title": "t"}}),
        client.put("/api/articles/guarded", json={"article": {"title": "t"}}),
        client.delete("/api/articles/guarded"),
    ]

    for response in responses:
        assert response.status_code == 401
        assert response.get_json() == {"errors": {"token": ["is missing"]}}


def test_deleting_answers_204_and_takes_comments_favorites_and_tags_along(client):
    author, fan = make_user(), make_user()
    article = make_article(author, title="Doomed", tags=["gone"], favorited_by=[fan])
    make_comment(article, fan)
    article_id = article.id

    response = client.delete("/api/articles/doomed", headers=auth_headers(author))

    assert response.status_code == 204
    assert response.get_data() == b""
    assert "Content-Type" not in response.headers
    assert client.get("/api/articles/doomed").status_code == 404
    assert client.get("/api/tags").get_json() == {"tags": []}
    for model in (Article, Favorite, Comment):
        column = model.id if model is Article else model.article_id
        assert db.session.scalar(select(func.count()).where(column == article_id)) == 0


@pytest.mark.parametrize(
    ("article", "errors"),
    [
        (
            {},
            {
                "title": ["is required"],
                "description": ["is required"],
                "body": ["is required"],
            },
        ),
        (
            {"title": 5, "description": None, "body": ["x"], "tagList": "dragons"},
            {
                "title": ["must be a string"],
                "description": ["must not be null"],
                "body": ["must be a string"],
                "tagList": ["must be a list"],
            },
        ),
        (
            {"title": "   ", "description": "", "body": " \n"},
            {
                "title": ["must not be blank"],
                "description": ["must not be blank"],
                "body": ["must not be blank"],
            },
        ),
        (
            {"title": "t" * 256, "description": "d" * 256, "body": "b" * (64 * 1024 + 1)},
            {
                "title": ["must be at most 255 characters"],
                "description": ["must be at most 255 characters"],
                "body": ["must be at most 65536 characters"],
            },
        ),
        (
            {"title": "t", "description": "d", "body": "b", "tagList": ["ok", 7, "", "x" * 51, 8]},
            {"tagList": ["must be a string", "must be at most 50 characters"]},
        ),
        (
            {"title": "t", "description": "d", "body": "b", "tagList": [f"{n}" for n in range(21)]},
            {"tagList": ["must have at most 20 tags"]},
        ),
    ],
    ids=["missing", "wrong-types", "blank", "too-long", "bad-tags", "too-many-tags"],
)
def test_invalid_new_articles_are_422_with_field_errors(client, article, errors):
    response = client.post(
        "/api/articles", json={"article": article}, headers=auth_headers(make_user())
    )

    assert response.status_code == 422
    assert response.get_json() == {"errors": errors}
    assert db.session.scalar(select(func.count()).select_from(Article)) == 0


def test_invalid_updates_are_422_and_change_nothing(client):
    author = make_user()
    make_article(author, title="Firm")

    response = put_article(client, author, "firm", title="", description="d" * 256)

    assert response.status_code == 422
    assert response.get_json() == {
        "errors": {
            "title": ["must not be blank"],
            "description": ["must be at most 255 characters"],
        }
    }
    assert client.get("/api/articles/firm").get_json()["article"]["title"] == "Firm"


def test_a_body_that_is_not_an_article_envelope_is_422(client):
    user = make_user()
    headers = auth_headers(user)

    not_an_envelope = client.post("/api/articles", json={"title": "t"}, headers=headers)
    not_an_object = client.post("/api/articles", json={"article": ["t"]}, headers=headers)
    not_json = client.post(
        "/api/articles", data="{", content_type="application/json", headers=headers
    )
    not_declared_json = client.post("/api/articles", data="{}", headers=headers)

    assert not_an_envelope.status_code == not_an_object.status_code == 422
    assert not_an_envelope.get_json() == {"errors": {"article": ["is required"]}}
    assert not_an_object.get_json() == {"errors": {"article": ["must be an object"]}}
    assert not_json.status_code == 422
    assert not_declared_json.status_code == 415


def test_the_largest_allowed_fields_are_stored_whole(client):
    # 64 Ki characters of four UTF-8 bytes each: more than MariaDB's TEXT would hold.
    body = "😀" * (64 * 1024)
    title, description = "T" * 255, "é" * 255

    response = post_article(client, make_user(), title=title, description=description, body=body)

    assert response.status_code == 201
    slug = response.get_json()["article"]["slug"]
    stored = client.get(f"/api/articles/{slug}").get_json()["article"]
    assert (stored["title"], stored["description"], stored["body"]) == (title, description, body)


def test_an_article_created_at_a_given_time_reads_back_in_utc(client):
    author = make_user()
    make_article(author, title="Timed", created_at=datetime(2026, 3, 1, 8, 5, 9, 7000, tzinfo=UTC))

    article = client.get("/api/articles/timed").get_json()["article"]

    assert article["createdAt"] == "2026-03-01T08:05:09.007Z"
