"""Each article keeps what every page shows, its favorites count and its tag names (migration
0007), exact after every kind of write and under concurrent writers: compared with a recount
of the favorites and article_tags rows (which keep the article's created_at, migration 0011).
"""

import json
import random
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import delete, func, select

from app import create_app
from app.extensions import db
from blueprints.articles.models import Article, Favorite
from blueprints.tags.models import ArticleTag, Tag
from blueprints.users.models import User
from tests.factories import make_article, make_user
from tests.helpers import auth_headers


def recounted(article_id: int) -> tuple[int, list[str]]:
    """The favorites and the tag names of an article, counted from their own tables."""
    favorites = db.session.scalar(
        select(func.count()).select_from(Favorite).where(Favorite.article_id == article_id)
    )
    names = db.session.scalars(
        select(Tag.name)
        .join(ArticleTag, ArticleTag.tag_id == Tag.id)
        .where(ArticleTag.article_id == article_id)
        .order_by(ArticleTag.position)
    )
    return favorites, list(names)


def kept(article_id: int) -> tuple[int, list[str]]:
    """The favorites count and the tag names the article's row keeps."""
    row = db.session.execute(
        select(Article.favorites_count, Article.tag_list).where(Article.id == article_id)
    ).one()
    return row.favorites_count, json.loads(row.tag_list)


def test_the_count_and_the_tags_follow_every_write_through_the_api(client):
    author, fans = make_user(), [make_user() for _ in range(3)]
    article = make_article(author, title="Kept", tags=["zeta", "alpha"])
    steps = [
        ("post", "/api/articles/kept/favorite", fans[0]),
        ("post", "/api/articles/kept/favorite", fans[1]),
        ("post", "/api/articles/kept/favorite", fans[1]),  # again: no change
        ("delete", "/api/articles/kept/favorite", fans[0]),
        ("delete", "/api/articles/kept/favorite", fans[0]),  # again: no change
        ("delete", "/api/articles/kept/favorite", fans[2]),  # never favorited
        ("post", "/api/articles/kept/favorite", fans[2]),
    ]
    expected_counts = [1, 2, 2, 1, 1, 1, 2]

    for (method, path, fan), expected in zip(steps, expected_counts, strict=True):
        response = getattr(client, method)(path, headers=auth_headers(fan))
        assert response.status_code == 200
        assert response.get_json()["article"]["favoritesCount"] == expected
        assert kept(article.id) == recounted(article.id)

    retagged = client.put(
        "/api/articles/kept",
        json={"article": {"tagList": ["mid", "zeta", "mid", "Ünïcode"]}},
        headers=auth_headers(author),
    )
    assert retagged.get_json()["article"]["tagList"] == ["mid", "zeta", "Ünïcode"]  # sorted
    assert kept(article.id) == recounted(article.id) == (2, ["mid", "zeta", "Ünïcode"])
    untouched = client.put(
        "/api/articles/kept", json={"article": {"body": "new"}}, headers=auth_headers(author)
    )
    assert untouched.get_json()["article"]["tagList"] == ["mid", "zeta", "Ünïcode"]
    cleared = client.put(
        "/api/articles/kept", json={"article": {"tagList": []}}, headers=auth_headers(author)
    )
    assert cleared.get_json()["article"]["tagList"] == []
    assert kept(article.id) == recounted(article.id) == (2, [])
    listed = client.get("/api/articles").get_json()["articles"][0]
    assert (listed["favoritesCount"], listed["tagList"]) == (2, [])


def test_a_new_article_starts_with_its_tags_and_no_favorites(client):
    author = make_user()

    response = client.post(
        "/api/articles",
        json={
            "article": {"title": "Fresh", "description": "d", "body": "b", "tagList": ["b", "a"]}
        },
        headers=auth_headers(author),
    )

    article_id = db.session.scalar(select(Article.id).where(Article.slug == "fresh"))
    assert response.get_json()["article"]["favoritesCount"] == 0
    assert kept(article_id) == recounted(article_id) == (0, ["a", "b"])


# Concurrent writers, on MariaDB: requests in real threads on a pool of their own, committing
# for real; what they made is deleted at the end.

FANS = 6
ROUNDS = 8
TAG_LETTERS = "abcde"


@contextmanager
def committing_app(prefix: str) -> Iterator:
    """A second app with its own pool: its requests commit. Deletes the users named
    `prefix...` (their articles and favorites go with them) and tags named `prefix...`."""
    app = create_app("test")
    try:
        yield app
    finally:
        with app.app_context():
            db.session.execute(delete(User).where(User.username.startswith(prefix)))
            db.session.execute(delete(Tag).where(Tag.name.startswith(prefix)))
            db.session.commit()
            db.engine.dispose()


def run_in_threads(work, arguments: list) -> list:
    """Run `work(argument)` for each argument in its own thread, all released at once;
    returns what each raised (nothing when all went well)."""
    start = threading.Barrier(len(arguments))
    failures = []

    def run(argument) -> None:
        try:
            start.wait(timeout=30)
            work(argument)
        except Exception as error:  # reported by the test, with the others
            failures.append(error)

    threads = [threading.Thread(target=run, args=(argument,)) for argument in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return failures


def test_concurrent_favorites_unfavorites_and_retags_keep_each_article_exact(app, database):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("mysql"):
        pytest.skip("SQLite admits one writer at a time: the writes cannot overlap")
    prefix = f"pc{secrets.token_hex(3)}"
    tag_names = [f"{prefix}-{letter}" for letter in TAG_LETTERS]
    with committing_app(prefix) as real:
        with real.app_context():
            author = make_user(username=f"{prefix}-author")
            fans = [make_user(username=f"{prefix}-fan{number}") for number in range(FANS)]
            articles = [
                make_article(author, title=f"{prefix} shared {number}", tags=[f"{prefix}-a"])
                for number in range(2)
            ]
            # Every tag the retags use exists already: creating new tags concurrently is
            # another race (the tags' unique index), not this test's.
            make_article(author, title=f"{prefix} all tags", tags=tag_names)
            ids = [article.id for article in articles]
            slugs = [article.slug for article in articles]
            fan_headers = [auth_headers(fan) for fan in fans]
            author_headers = auth_headers(author)

        statuses: list[int] = []

        def toggle(number: int) -> None:
            """A fan favorites and unfavorites both articles in a random order, many times."""
            client, chance = real.test_client(), random.Random(number)
            for _ in range(ROUNDS):
                for slug in chance.sample(slugs, len(slugs)):
                    method = chance.choice([client.post, client.delete])
                    path = f"/api/articles/{slug}/favorite"
                    statuses.append(method(path, headers=fan_headers[number]).status_code)

        def retag(number: int) -> None:
            client, chance = real.test_client(), random.Random(number)
            for _ in range(ROUNDS):
                names = chance.sample(tag_names, 3)
                slug = chance.choice(slugs)
                article = {"tagList": names}
                response = client.put(
                    f"/api/articles/{slug}", json={"article": article}, headers=author_headers
                )
                statuses.append(response.status_code)

        failures = run_in_threads(
            lambda work: work[0](work[1]),
            [(toggle, number) for number in range(FANS)] + [(retag, 100), (retag, 101)],
        )

        with real.app_context():
            results = [(kept(article_id), recounted(article_id)) for article_id in ids]
            tag_counts = dict(
                db.session.execute(
                    select(Tag.name, Tag.articles_count).where(Tag.name.startswith(prefix))
                ).all()
            )
            carried = dict(
                db.session.execute(
                    select(Tag.name, func.count(ArticleTag.article_id))
                    .join(ArticleTag, ArticleTag.tag_id == Tag.id)
                    .where(Tag.name.startswith(prefix))
                    .group_by(Tag.name)
                ).all()
            )
            # Each tag row keeps its article's created_at: the order of the tag's pages.
            misdated = db.session.scalar(
                select(func.count())
                .select_from(ArticleTag)
                .join(Article, Article.id == ArticleTag.article_id)
                .where(
                    ArticleTag.article_id.in_(ids),
                    ArticleTag.article_created_at != Article.created_at,
                )
            )

    assert failures == []
    assert set(statuses) == {200}, sorted(set(statuses))
    assert len(statuses) == FANS * ROUNDS * 2 + 2 * ROUNDS
    for kept_values, recounted_values in results:
        assert kept_values == recounted_values
    assert {name: count for name, count in tag_counts.items() if count} == carried
    assert misdated == 0
