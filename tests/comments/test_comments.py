"""Comments on articles: reading, writing, deleting, and the events they publish."""

import re

import pytest
from freezegun import freeze_time

from app.extensions import db
from blueprints.profiles.models import Follow
from tests.factories import key_of, make_article, make_comment, make_user
from tests.helpers import auth_headers, counted_queries, published_events

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def post_comment(client, user, slug: str, **comment):
    return client.post(
        f"/api/articles/{slug}/comments", json={"comment": comment}, headers=auth_headers(user)
    )


def test_commenting_answers_200_with_the_comment(client):
    make_article(make_user(), title="Talked about")
    commenter = make_user(username="talker", bio="chatty", image="https://example.com/t.png")

    with freeze_time("2026-11-25 16:21:30.123"):
        response = post_comment(client, commenter, "talked-about", body="Nice one")

    assert response.status_code == 200
    comment = response.get_json()["comment"]
    assert isinstance(comment["id"], int)
    assert comment == {
        "id": comment["id"],
        "createdAt": "2026-11-25T16:21:30.123Z",
        "updatedAt": "2026-11-25T16:21:30.123Z",
        "body": "Nice one",
        "author": {
            "username": "talker",
            "bio": "chatty",
            "image": "https://example.com/t.png",
            "following": False,
        },
    }


def test_comments_are_listed_oldest_first_with_following_for_the_viewer(client):
    article = make_article(make_user(), title="Discussed")
    viewer, followed, stranger = make_user(), make_user(), make_user()
    db.session.add(Follow(follower_id=viewer.id, followed_id=followed.id))
    first = make_comment(article, followed, "First")
    second = make_comment(article, stranger, "Second")
    make_comment(make_article(make_user(), title="Elsewhere"), followed, "Not here")

    seen = client.get("/api/articles/discussed/comments", headers=auth_headers(viewer))
    anonymous = client.get("/api/articles/discussed/comments")

    assert seen.status_code == anonymous.status_code == 200
    comments = seen.get_json()["comments"]
    assert [c["id"] for c in comments] == [first.id, second.id]
    assert [c["body"] for c in comments] == ["First", "Second"]
    assert [c["author"]["following"] for c in comments] == [True, False]
    assert [c["author"]["following"] for c in anonymous.get_json()["comments"]] == [False, False]
    assert all(TIMESTAMP.match(c["createdAt"]) for c in comments)


def test_an_article_without_comments_lists_none(client):
    make_article(make_user(), title="Quiet")

    assert client.get("/api/articles/quiet/comments").get_json() == {"comments": []}


def test_comments_of_an_unknown_article_are_404(client):
    user = make_user()

    responses = [
        client.get("/api/articles/nothing/comments"),
        post_comment(client, user, "nothing", body="Hello?"),
        client.delete("/api/articles/nothing/comments/1", headers=auth_headers(user)),
    ]

    for response in responses:
        assert response.status_code == 404
        assert response.get_json() == {"errors": {"body": ["article not found"]}}


def test_commenting_and_deleting_require_a_token(client):
    article = make_article(make_user(), title="Closed")
    comment = make_comment(article, make_user())

    posted = client.post("/api/articles/closed/comments", json={"comment": {"body": "x"}})
    deleted = client.delete(f"/api/articles/closed/comments/{comment.id}")

    assert posted.status_code == deleted.status_code == 401


@pytest.mark.parametrize(
    ("comment", "errors"),
    [
        ({}, {"body": ["is required"]}),
        ({"body": None}, {"body": ["must not be null"]}),
        ({"body": 12}, {"body": ["must be a string"]}),
        ({"body": "  \n "}, {"body": ["must not be blank"]}),
        ({"body": "x" * (64 * 1024 + 1)}, {"body": ["must be at most 65536 characters"]}),
    ],
    ids=["missing", "null", "number", "blank", "too-long"],
)
def test_invalid_comments_are_422(client, comment, errors):
    make_article(make_user(), title="Strict")

    response = post_comment(client, make_user(), "strict", **comment)

    assert response.status_code == 422
    assert response.get_json() == {"errors": errors}
    assert client.get("/api/articles/strict/comments").get_json() == {"comments": []}


def test_the_comments_author_deletes_it_with_204_and_an_empty_body(client):
    article = make_article(make_user(), title="Retracted")
    author = make_user()
    comment = make_comment(article, author)
    kept = make_comment(article, make_user())

    response = client.delete(
        f"/api/articles/retracted/comments/{comment.id}", headers=auth_headers(author)
    )

    assert response.status_code == 204
    assert response.get_data() == b""
    remaining = client.get("/api/articles/retracted/comments").get_json()["comments"]
    assert [c["id"] for c in remaining] == [kept.id]


def test_only_the_comments_author_may_delete_it(client):
    article_author = make_user()
    article = make_article(article_author, title="Moderated")
    comment = make_comment(article, make_user())

    response = client.delete(
        f"/api/articles/moderated/comments/{comment.id}", headers=auth_headers(article_author)
    )

    assert response.status_code == 403
    assert response.get_json() == {"errors": {"body": ["only the author may delete this comment"]}}
    assert len(client.get("/api/articles/moderated/comments").get_json()["comments"]) == 1


def test_a_comment_of_another_article_or_an_unknown_id_is_404(client):
    author = make_user()
    make_article(author, title="Here")
    comment = make_comment(make_article(author, title="There"), author)
    headers = auth_headers(author)

    for comment_id in (comment.id, 999_999, 2**31):
        response = client.delete(f"/api/articles/here/comments/{comment_id}", headers=headers)
        assert response.status_code == 404
        assert response.get_json() == {"errors": {"body": ["comment not found"]}}
    # Not an id at all (longer than any key, or not a number): no route matches.
    for not_an_id in (10**30, "abc"):
        response = client.delete(f"/api/articles/here/comments/{not_an_id}", headers=headers)
        assert response.status_code == 404
        assert response.get_json() == {"errors": {"body": ["not found"]}}
    assert len(client.get("/api/articles/there/comments").get_json()["comments"]) == 1


def test_comments_publish_created_and_deleted_events(client):
    author = make_user()
    make_article(make_user(), title="Eventful")

    with published_events() as events:
        created = post_comment(client, author, "eventful", body="Noted").get_json()["comment"]
        deleted = client.delete(
            f"/api/articles/eventful/comments/{created['id']}", headers=auth_headers(author)
        )

    assert deleted.status_code == 204
    assert events == [
        ("comment.created", {"comment": created, "article": {"slug": "eventful"}}),
        ("comment.deleted", {"comment": created, "article": {"slug": "eventful"}}),
    ]


def test_failed_comment_requests_publish_nothing(client):
    article = make_article(make_user(), title="Calm")
    comment = make_comment(article, make_user())
    other = make_user()

    with published_events() as events:
        responses = [
            post_comment(client, other, "calm", body=""),
            post_comment(client, other, "missing", body="x"),
            client.post("/api/articles/calm/comments", json={"comment": {"body": "x"}}),
            client.delete(f"/api/articles/calm/comments/{comment.id}", headers=auth_headers(other)),
        ]

    assert [response.status_code for response in responses] == [422, 404, 401, 403]
    assert events == []


def test_comment_lists_run_the_same_few_statements_for_any_size(client):
    viewer = make_user()
    viewer_id = key_of(viewer)
    for size in (1, 20, 100):
        article = make_article(make_user(), title=f"Size {size}")
        for _ in range(size):
            author = make_user()
            db.session.add(Follow(follower_id=viewer_id, followed_id=key_of(author)))
            make_comment(article, author)
    headers = auth_headers(viewer)

    counts = {}
    for size in (1, 20, 100):
        path = f"/api/articles/size-{size}/comments"
        for who, request_headers in (("anonymous", {}), ("viewer", headers)):
            db.session.expunge_all()
            with counted_queries() as statements:
                response = client.get(path, headers=request_headers)
            assert len(response.get_json()["comments"]) == size
            counts[size, who] = len([sql for sql in statements if not sql.startswith("SAVEPOINT")])

    assert counts[1, "anonymous"] == counts[20, "anonymous"] == counts[100, "anonymous"] == 2
    assert counts[1, "viewer"] == counts[20, "viewer"] == counts[100, "viewer"] == 3
