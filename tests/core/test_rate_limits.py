"""Rate limits, counted in a real Redis of the test's own: login per account and per address,
registration per address, writes per user, webhook management per client key."""

import uuid

import pytest

from app import create_app
from app.extensions import db
from app.ratelimits import rate_limit_exceeded
from config import ConfigError, get_config
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.helpers import auth_headers, client_key_headers, set_production_secrets
from tests.processes import OwnRedis

pytestmark = pytest.mark.system

TOO_MANY = "too many requests, retry in"


@pytest.fixture(scope="module")
def redis(tmp_path_factory):
    server = OwnRedis(tmp_path_factory.mktemp("ratelimit-redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def limits(monkeypatch, redis):
    """Settings of the limited apps the test builds: small limits, a key prefix of its own."""
    settings = {
        "RATELIMIT_ENABLED": "1",
        "RATELIMIT_STORAGE_URI": redis.url,
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        "RATELIMIT_LOGIN_PER_ACCOUNT": "3 per minute",
        "RATELIMIT_LOGIN_PER_ADDRESS": "6 per minute",
        "RATELIMIT_REGISTRATION_PER_ADDRESS": "2 per hour",
        "RATELIMIT_WRITES_PER_USER": "3 per minute",
        "RATELIMIT_WEBHOOKS_PER_CLIENT": "3 per minute",
        "TRUSTED_PROXIES": "0",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return settings


@pytest.fixture
def limited_app(limits, connection):
    """Build an app with the limits on (a web node), on the test's connection and transaction."""
    built = []

    def build():
        app = create_app("test")
        context = app.app_context()
        context.push()
        engine = db.engines[None]
        db.engines[None] = connection  # type: ignore[index]
        built.append((context, engine))
        return app

    yield build
    for context, engine in reversed(built):
        db.session.remove()
        db.engines[None] = engine  # type: ignore[index]
        context.pop()
        engine.dispose()


def login(client, email, password="wrong password", **headers):
    credentials = {"email": email, "password": password}
    return client.post("/api/users/login", json={"user": credentials}, headers=headers)


def assert_limited(response):
    assert response.status_code == 429
    [message] = response.get_json()["errors"]["body"]
    assert message.startswith(TOO_MANY) and message.endswith(" s")
    retry_in = int(message.removeprefix(TOO_MANY).removesuffix(" s"))
    assert 1 <= retry_in <= 3601
    assert response.headers["Retry-After"] == str(retry_in)
    assert response.headers["RateLimit-Remaining"] == "0"
    assert int(response.headers["RateLimit-Limit"]) > 0
    assert int(response.headers["RateLimit-Reset"]) >= 0


def test_failed_logins_for_one_account_are_limited(limited_app):
    client = limited_app().test_client()
    user = make_user()
    other = make_user()

    answers = [login(client, user.email).status_code for _ in range(3)]
    refused = login(client, user.email, DEFAULT_PASSWORD)

    assert answers == [401, 401, 401]
    assert_limited(refused)  # even the right password: the guessing stops here
    # The same address may still log in to another account.
    assert login(client, other.email, DEFAULT_PASSWORD).status_code == 200


def test_successful_logins_do_not_count_against_the_account(limited_app):
    client = limited_app().test_client()
    user = make_user()

    answers = [login(client, user.email, DEFAULT_PASSWORD).status_code for _ in range(5)]

    assert answers == [200] * 5


def test_logins_from_one_address_are_limited_across_accounts(limited_app):
    client = limited_app().test_client()

    answers = [login(client, f"guess{n}@example.com").status_code for n in range(6)]

    assert answers == [401] * 6
    assert_limited(login(client, "guess7@example.com"))


def test_registrations_from_one_address_are_limited(limited_app):
    client = limited_app().test_client()

    def register(name):
        user = {"username": name, "email": f"{name}@example.com", "password": DEFAULT_PASSWORD}
        return client.post("/api/users", json={"user": user})

    assert [register(f"newcomer{n}").status_code for n in range(2)] == [201, 201]
    assert_limited(register("newcomer3"))


def test_writes_are_limited_per_user_and_reads_never(limited_app):
    client = limited_app().test_client()
    writer, other = make_user(), make_user()

    def write(user, number):
        article = {"title": f"Post {number}", "description": "d", "body": "b"}
        return client.post("/api/articles", json={"article": article}, headers=auth_headers(user))

    assert [write(writer, n).status_code for n in range(3)] == [201, 201, 201]
    assert_limited(write(writer, 4))
    # Another user writes; comments count against the same budget as articles.
    assert write(other, 5).status_code == 201
    for _ in range(20):
        read = client.get("/api/articles")
        assert read.status_code == 200
        assert "RateLimit-Limit" not in read.headers


def test_webhook_management_is_limited_per_client_key(limited_app):
    client = limited_app().test_client()
    headers, other_headers = client_key_headers("one"), client_key_headers("two")

    answers = [client.get("/api/webhooks", headers=headers).status_code for _ in range(3)]

    assert answers == [200] * 3
    assert_limited(client.get("/api/webhooks", headers=headers))
    assert client.get("/api/webhooks", headers=other_headers).status_code == 200


def test_every_web_node_shares_the_counters(limited_app):
    node_one, node_two = limited_app().test_client(), limited_app().test_client()
    user = make_user()

    assert login(node_one, user.email).status_code == 401
    assert login(node_two, user.email).status_code == 401
    assert login(node_one, user.email).status_code == 401
    assert_limited(login(node_two, user.email))


def test_a_client_cannot_choose_its_address_with_x_forwarded_for(limited_app):
    client = limited_app().test_client()

    for number in range(6):
        spoofed = {"X-Forwarded-For": f"203.0.113.{number}"}
        assert login(client, f"guess{number}@example.com", **spoofed).status_code == 401

    assert_limited(login(client, "guess7@example.com", **{"X-Forwarded-For": "203.0.113.99"}))


def test_behind_trusted_proxies_the_forwarded_address_counts(limited_app, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    client = limited_app().test_client()

    for number in range(6):
        behind_proxy = {"X-Forwarded-For": "198.51.100.7"}
        assert login(client, f"guess{number}@example.com", **behind_proxy).status_code == 401

    assert_limited(login(client, "guess7@example.com", **{"X-Forwarded-For": "198.51.100.7"}))
    # Another client behind the same proxy has its own count.
    other = {"X-Forwarded-For": "198.51.100.8"}
    assert login(client, "guess8@example.com", **other).status_code == 401


def test_each_refusal_is_announced_once_with_the_limit_name(limited_app):
    app = limited_app()
    client = app.test_client()
    refusals = []

    def count(sender, limit):
        refusals.append(limit)

    with rate_limit_exceeded.connected_to(count, sender=app):
        for number in range(8):
            login(client, f"guess{number}@example.com")

    assert refusals == ["login_per_address", "login_per_address"]


def test_production_needs_a_shared_storage(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://root@127.0.0.1/conduit")
    set_production_secrets(monkeypatch)
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    monkeypatch.delenv("RATELIMIT_ENABLED", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("CELERY_BROKER_URL", "amqp://guest@rabbitmq.internal//")

    with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URI must name a Redis"):
        get_config("production")

    monkeypatch.setenv("REDIS_URL", "redis://10.0.0.5:6379/0")
    assert get_config("production").RATELIMIT_ENABLED
