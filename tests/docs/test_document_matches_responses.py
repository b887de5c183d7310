"""Our document against what the API serves: a tour of every operation, each response
validated by openapi-core against /api/openapi.json (output objects are closed: a field the
document does not list fails), so the document cannot drift from the views.
"""

import io
import re

from openapi_core import Config as OpenAPIConfig
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from werkzeug.wrappers import Request

from tests.docs.support import operations
from tests.factories import make_user
from tests.helpers import auth_headers, client_key_headers

PUBLIC_URL = "https://93.184.215.14/hooks/conduit"  # a public address: no DNS needed


class DocumentCheckingClient:
    """Sends requests through the test client, validates each response against our document
    and remembers which (method, path template, status) it saw.
    """

    def __init__(self, client):
        self.client = client
        self.document = client.get("/api/openapi.json").get_json()
        # Not validated again as a document (about 0.4 s of CPU): test_openapi.py does that.
        unvalidated = OpenAPIConfig(spec_validator_cls=None)
        self.openapi = OpenAPI.from_dict(self.document, config=unvalidated)
        self.templates = sorted(
            (
                (re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"), path)
                for path in self.document["paths"]
            ),
            key=lambda item: item[1].count("{"),  # literal paths first: /articles/feed
        )
        self.seen: set[tuple[str, str, int]] = set()

    def request(self, method: str, path: str, expected: int, **kwargs):
        response = self.client.open(path, method=method, **kwargs)
        assert response.status_code == expected, (
            f"{method} {path}: {response.status_code} {response.get_data(as_text=True)[:300]}"
        )
        request = response.request
        body_free = Request({**request.environ, "wsgi.input": io.BytesIO(), "CONTENT_LENGTH": "0"})
        self.openapi.validate_response(
            WerkzeugOpenAPIRequest(body_free), WerkzeugOpenAPIResponse(response)
        )
        template = next(path for pattern, path in self.templates if pattern.match(request.path))
        self.seen.add((method, template, response.status_code))
        if method == "GET" and expected == 200:
            # Every GET answer has an ETag: sent back, it gets a 304 (app/cache.py).
            headers = {**kwargs.pop("headers", {}), "If-None-Match": response.headers["ETag"]}
            self.request(method, path, 304, headers=headers, **kwargs)
        return response.get_json(silent=True)


def tour_users(api) -> dict:
    new_user = {"username": "tourist", "email": "tourist@example.com", "password": "secret-pw"}
    api.request("POST", "/api/users", 201, json={"user": new_user})
    api.request("POST", "/api/users", 422, json={"user": {"username": "tourist"}})
    api.request("POST", "/api/users", 415, data="user", content_type="text/plain")
    credentials = {"email": new_user["email"], "password": new_user["password"]}
    token = api.request("POST", "/api/users/login", 200, json={"user": credentials})
    wrong = {**credentials, "password": "wrong"}
    api.request("POST", "/api/users/login", 401, json={"user": wrong})
    headers = {"Authorization": f"Token {token['user']['token']}"}
    api.request("GET", "/api/user", 200, headers=headers)
    api.request("GET", "/api/user", 401)
    api.request("PUT", "/api/user", 200, json={"user": {"bio": "Travels."}}, headers=headers)
    return headers


def tour_profiles(api, me: dict) -> None:
    make_user("guide")
    api.request("GET", "/api/profiles/guide", 200)
    api.request("GET", "/api/profiles/nobody", 404)
    api.request("POST", "/api/profiles/guide/follow", 200, headers=me)
    api.request("POST", "/api/profiles/tourist/follow", 422, headers=me)
    api.request("DELETE", "/api/profiles/guide/follow", 200, headers=me)
    api.request("POST", "/api/profiles/guide/follow", 200, headers=me)


def tour_articles_and_comments(api, me: dict) -> None:
    guide = auth_headers(make_user("author"))
    new = {"title": "A tour", "description": "Of it", "body": "Step by step.", "tagList": ["x"]}
    created = api.request("POST", "/api/articles", 201, json={"article": new}, headers=me)
    slug = created["article"]["slug"]
    api.request("GET", "/api/articles", 200, query_string={"tag": "x", "limit": 5})
    api.request("GET", "/api/articles", 422, query_string={"limit": 0})
    api.request("GET", "/api/articles/feed", 200, headers=me)
    api.request("GET", f"/api/articles/{slug}", 200, headers=me)
    api.request("GET", "/api/articles/no-such-article", 404)
    change = {"article": {"body": "Step after step."}}
    api.request("PUT", f"/api/articles/{slug}", 200, json=change, headers=me)
    api.request("PUT", f"/api/articles/{slug}", 403, json=change, headers=guide)
    api.request("POST", f"/api/articles/{slug}/favorite", 200, headers=guide)
    api.request("DELETE", f"/api/articles/{slug}/favorite", 200, headers=guide)
    api.request("GET", "/api/tags", 200)

    comments = f"/api/articles/{slug}/comments"
    hello = {"comment": {"body": "Hi"}}
    comment = api.request("POST", comments, 200, json=hello, headers=me)
    api.request("POST", "/api/articles/nope/comments", 404, json=hello, headers=me)
    api.request("GET", comments, 200)
    api.request("DELETE", f"{comments}/{comment['comment']['id']}", 403, headers=guide)
    api.request("DELETE", f"{comments}/{comment['comment']['id']}", 204, headers=me)
    api.request("DELETE", f"{comments}/{comment['comment']['id']}", 404, headers=me)
    api.request("DELETE", f"/api/articles/{slug}", 204, headers=me)


def tour_webhooks(api) -> None:
    key = client_key_headers()
    new = {"url": PUBLIC_URL, "events": ["article.created"]}
    webhook = api.request("POST", "/api/webhooks", 201, json={"webhook": new}, headers=key)
    one = f"/api/webhooks/{webhook['webhook']['id']}"
    api.request("POST", "/api/webhooks", 401, json={"webhook": new})
    api.request("GET", "/api/webhooks", 200, headers=key)
    api.request("GET", one, 200, headers=key)
    api.request("GET", "/api/webhooks/999999", 404, headers=key)
    api.request("POST", f"{one}/rotate-secret", 200, headers=key)
    delivery = api.request("POST", f"{one}/ping", 202, headers=key)
    api.request("GET", f"{one}/deliveries", 200, headers=key)
    api.request("GET", f"{one}/deliveries/{delivery['delivery']['id']}/attempts", 200, headers=key)
    api.request("GET", f"{one}/deliveries/msg_nope/attempts", 404, headers=key)
    redeliver = f"{one}/deliveries/{delivery['delivery']['id']}/redeliver"
    api.request("POST", redeliver, 202, headers=key)
    api.request("PATCH", one, 200, json={"webhook": {"enabled": False}}, headers=key)
    api.request("POST", f"{one}/ping", 422, headers=key)
    api.request("DELETE", one, 204, headers=key)


def tour_health_and_docs(api) -> None:
    api.request("GET", "/healthz", 200)
    api.request("GET", "/readyz", 200)
    api.request("GET", "/api/openapi.json", 200)
    api.request("GET", "/api/docs", 200)
    api.request("GET", "/api/docs/swagger-ui-bundle.js", 200)
    api.request("GET", "/api/docs/no-such-file.js", 404)


def test_every_operation_answers_as_the_document_says(client):
    api = DocumentCheckingClient(client)

    me = tour_users(api)
    tour_profiles(api, me)
    tour_articles_and_comments(api, me)
    tour_webhooks(api)
    tour_health_and_docs(api)

    successes = {
        (method, path, int(status))
        for (method, path), operation in operations(api.document).items()
        for status in operation["responses"]
        if int(status) < 400
    }
    assert successes - api.seen == set()
