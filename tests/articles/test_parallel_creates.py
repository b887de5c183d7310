"""Many writers at once on MariaDB: 20 parallel creations of one title, and 20 introducing
one new tag, all succeed (no deadlock answered 503 or 500), with distinct slugs and exact
tag counts. The requests commit for real, in threads (tests/concurrency.py)."""

import uuid

from sqlalchemy import delete, select

from app.extensions import db
from blueprints.articles.models import Article
from blueprints.tags.models import Tag
from blueprints.users.models import User
from tests.concurrency import committing_for_real, in_parallel
from tests.factories import make_user
from tests.helpers import auth_headers

WRITERS = 20


def post_in_parallel(app, articles: list[dict]) -> tuple[list, list[str]]:
    """POST each of `articles` at once, each by a user of its own (committed for real, deleted
    at the end with what they wrote); the responses, and the tags they carry now."""
    run = uuid.uuid4().hex[:8]
    with app.app_context():
        users = [make_user(username=f"writer-{run}-{index}") for index in range(len(articles))]
        headers = [auth_headers(user) for user in users]
    tag_names = sorted({name for article in articles for name in article.get("tagList", [])})

    def create(index: int):
        response = app.test_client().post(
            "/api/articles", json={"article": articles[index]}, headers=headers[index]
        )
        return response.status_code, response.get_json()

    try:
        responses = in_parallel(len(articles), create)
    finally:
        with app.app_context():
            author_ids = select(User.id).where(User.username.like(f"writer-{run}-%"))
            db.session.execute(delete(Article).where(Article.author_id.in_(author_ids)))
            db.session.execute(delete(User).where(User.username.like(f"writer-{run}-%")))
            counts = dict(
                db.session.execute(
                    select(Tag.name, Tag.articles_count).where(Tag.name.in_(tag_names))
                ).all()
            )
            db.session.execute(delete(Tag).where(Tag.name.in_(tag_names)))
            db.session.commit()
    return responses, counts


def test_twenty_parallel_posts_of_one_title_all_get_distinct_slugs(app):
    title = f"Photo Finish {uuid.uuid4().hex[:6]}"
    articles = [{"title": title, "description": "d", "body": f"{n}"} for n in range(WRITERS)]

    with committing_for_real(app):
        responses, _ = post_in_parallel(app, articles)

    statuses = [status for status, _ in responses]
    assert statuses == [201] * WRITERS, [body for status, body in responses if status != 201]
    slugs = {body["article"]["slug"] for _, body in responses}
    assert len(slugs) == WRITERS
    base = title.lower().replace(" ", "-")
    assert base in slugs
    assert all(slug == base or slug.startswith(base + "-") for slug in slugs)


def test_twenty_parallel_posts_introducing_one_tag_count_it_exactly(app):
    tag = f"new-tag-{uuid.uuid4().hex[:6]}"
    articles = [
        {"title": f"Tagged {n}", "description": "d", "body": "b", "tagList": [tag, f"{tag}-{n}"]}
        for n in range(WRITERS)
    ]

    with committing_for_real(app):
        responses, counts = post_in_parallel(app, articles)

    statuses = [status for status, _ in responses]
    assert statuses == [201] * WRITERS, [body for status, body in responses if status != 201]
    for number, (_, body) in enumerate(responses):
        assert body["article"]["tagList"] == [tag, f"{tag}-{number}"]
    assert counts == {tag: WRITERS, **{f"{tag}-{n}": 1 for n in range(WRITERS)}}
