"""The contract checker (tests/contract.py) that every test client runs: it must catch drift."""

import json

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from tests.contract import ContractCheckingClient, ContractViolation, check_response

PROFILE = {"username": "jake", "bio": "", "image": "", "following": False}
ARTICLE = {
    "slug": "hello",
    "title": "Hello",
    "description": "d",
    "body": "b",
    "tagList": ["x"],
    "createdAt": "2026-11-25T16:21:30.123Z",
    "updatedAt": "2026-11-25T16:21:30.123Z",
    "favorited": False,
    "favoritesCount": 0,
    "author": PROFILE,
}
LIST_ITEM = {key: value for key, value in ARTICLE.items() if key != "body"}


def exchange(method: str, path: str, status: int, body=None) -> tuple[Request, Response]:
    request = Request(EnvironBuilder(method=method, path=path).get_environ())
    if body is None:
        response = Response(status=status)
        response.headers.remove("Content-Type")
    else:
        response = Response(json.dumps(body), status=status, mimetype="application/json")
    return request, response


def without(mapping: dict, key: str) -> dict:
    return {name: value for name, value in mapping.items() if name != key}


def test_every_test_client_checks_against_the_spec(app, client):
    assert isinstance(client, ContractCheckingClient)


@pytest.mark.parametrize(
    ("method", "path", "status", "body"),
    [
        ("GET", "/api/articles/hello", 200, {"article": ARTICLE}),
        ("POST", "/api/articles", 201, {"article": ARTICLE}),
        ("GET", "/api/articles", 200, {"articles": [LIST_ITEM], "articlesCount": 1}),
        ("DELETE", "/api/articles/hello", 204, None),
        ("DELETE", "/api/articles/hello/comments/1", 204, None),
        ("GET", "/api/tags", 200, {"tags": ["x"]}),
        ("GET", "/api/profiles/jake", 200, {"profile": PROFILE}),
        ("POST", "/api/articles", 422, {"errors": {"title": ["must not be blank"]}}),
        ("GET", "/api/user", 401, {"errors": {"token": ["is missing"]}}),
        ("PUT", "/api/articles/hello", 403, {"errors": {"body": ["not allowed"]}}),
        ("GET", "/api/clients/unknown", 200, {"anything": "goes"}),
    ],
    ids=[
        "article",
        "created",
        "list",
        "deleted",
        "comment-deleted",
        "tags",
        "profile",
        "error-by-field",
        "401-with-json",
        "403",
        "path-outside-the-spec",
    ],
)
def test_responses_the_spec_allows_pass(method, path, status, body):
    check_response(*exchange(method, path, status, body))


@pytest.mark.parametrize(
    ("method", "path", "status", "body"),
    [
        ("GET", "/api/articles/hello", 200, {"article": without(ARTICLE, "favoritesCount")}),
        ("GET", "/api/articles/hello", 200, {"article": {**ARTICLE, "favoritesCount": "0"}}),
        ("GET", "/api/articles/hello", 200, {"article": {**ARTICLE, "id": 7}}),
        ("GET", "/api/articles/hello", 200, {"article": {**ARTICLE, "createdAt": "yesterday"}}),
        ("GET", "/api/articles", 200, {"articles": [LIST_ITEM]}),
        ("GET", "/api/articles", 200, {"articles": [ARTICLE], "articlesCount": 1}),
        ("GET", "/api/articles/hello", 200, {"article": {**ARTICLE, "author": {"username": "j"}}}),
        ("POST", "/api/articles/hello/comments", 201, {"comment": {}}),
        ("POST", "/api/articles", 200, {"article": ARTICLE}),
        ("DELETE", "/api/articles/hello", 204, {"ok": True}),
        ("DELETE", "/api/articles/hello", 200, {"article": ARTICLE}),
        ("POST", "/api/articles", 422, {"errors": {"title": "must not be blank"}}),
        ("POST", "/api/articles", 422, {"errors": {}}),
        ("GET", "/api/articles/nothing", 404, {"error": "not found"}),
        ("GET", "/api/user", 401, None),
    ],
    ids=[
        "missing-field",
        "wrong-type",
        "extra-field",
        "bad-timestamp",
        "list-without-count",
        "list-item-with-body",
        "incomplete-author",
        "comment-201",
        "create-200",
        "204-with-body",
        "delete-200",
        "error-message-not-a-list",
        "no-error",
        "error-of-another-shape",
        "error-without-body",
    ],
)
def test_drift_from_the_spec_is_caught(method, path, status, body):
    with pytest.raises(ContractViolation):
        check_response(*exchange(method, path, status, body))
