"""A lone UTF-16 surrogate in a JSON string is a 422 naming the field, on every write."""

import pytest

from app.extensions import db
from tests.factories import make_article, make_user
from tests.helpers import auth_headers

SURROGATE = "\\ud800"  # as JSON escapes it: half of a UTF-16 pair, alone


def raw_json(template: str) -> bytes:
    return template.replace("~", SURROGATE).encode("ascii")


@pytest.fixture
def author():
    user = make_user()
    db.session.commit()
    return user


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        (
            "post",
            "/api/users/login",
            '{"user": {"email": "a@example.com", "password": "~"}}',
            "password",
        ),
        (
            "post",
            "/api/users",
            '{"user": {"username": "x~", "email": "x@example.com", "password": "long enough"}}',
            "username",
        ),
        ("put", "/api/user", '{"user": {"bio": "~"}}', "bio"),
        (
            "post",
            "/api/articles",
            '{"article": {"title": "T~", "description": "d", "body": "b"}}',
            "title",
        ),
        (
            "post",
            "/api/articles",
            '{"article": {"title": "T", "description": "d", "body": "~"}}',
            "body",
        ),
        (
            "post",
            "/api/articles",
            '{"article": {"title": "T", "description": "d", "body": "b", "tagList": ["ok", "~"]}}',
            "tagList",
        ),
        ("post", "/api/articles/{slug}/comments", '{"comment": {"body": "hi ~"}}', "body"),
        ("put", "/api/articles/{slug}", '{"article": {"~key": "x"}}', "body"),
    ],
)
def test_a_lone_surrogate_is_a_422_naming_the_field(client, author, method, path, body, field):
    article = make_article(author)
    db.session.commit()

    response = getattr(client, method)(
        path.format(slug=article.slug),
        data=raw_json(body),
        headers={**auth_headers(author), "Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert response.get_json() == {
        "errors": {field: ["must be valid Unicode text (it holds a lone surrogate)"]}
    }


def test_a_valid_surrogate_pair_is_text(client, author):
    response = client.put(
        "/api/user",
        data=b'{"user": {"bio": "\\ud83d\\ude00"}}',
        headers={**auth_headers(author), "Content-Type": "application/json"},
    )

    assert response.status_code == 200
    assert response.get_json()["user"]["bio"] == "\U0001f600"
