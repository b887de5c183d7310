"""The test run: its own database (`TEST_DATABASE_URL`), cheap password hashing."""

import os

from .base import Config, env_flag


class Test(Config):
    """Used by `python manage.py -c Test test`; never touches the development database."""

    DEFAULT_DATABASE = "test.sqlite"

    def __init__(self) -> None:
        super().__init__()
        self.TESTING = True
        # Hashing cost only matters against offline attacks; tests need speed.
        self.PASSWORD_HASH_TIME_COST = 1
        self.PASSWORD_HASH_MEMORY_KIB = 8
        # Each test holds its transaction open until it ends; the other connections a test
        # opens (a second app, a check from outside) must still be able to read meanwhile.
        # Tests that run real processes on a database of their own use production's
        # BEGIN IMMEDIATE: web and worker then wait for each other's writes.
        self.SQLITE_BEGIN = os.environ.get("TEST_SQLITE_BEGIN", "BEGIN")
        # Tasks sent by the code under test stay in this process, in kombu's memory transport.
        self.CELERY_BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", "memory://localhost/")

    def database_url_from_environment(self) -> str | None:
        return os.environ.get("TEST_DATABASE_URL")

    def sentry_dsn_from_environment(self) -> str:
        # A developer's SENTRY_DSN must not receive the errors tests raise on purpose.
        return os.environ.get("TEST_SENTRY_DSN", "")

    def rate_limits_enabled(self) -> bool:
        # Off unless asked for: one test's registrations must not refuse another's. The tests
        # of the limits build apps of their own with them on (tests/core/test_rate_limits.py).
        return env_flag("RATELIMIT_ENABLED", False)

    def autocommit_reads_enabled(self) -> bool:
        # Off: a test's reads must see its own transaction (tests/core/test_autocommit_reads.py
        # turns them on with a real engine).
        return False

    def read_cache_redis_url_from_environment(self) -> str:
        # Off unless asked for: the cache's own tests turn it on with a Redis of their choice.
        return os.environ.get("TEST_READ_CACHE_REDIS_URL", "")

    def allow_private_webhook_targets(self) -> bool:
        # Off unless asked for: the tests that deliver to a receiver on 127.0.0.1 turn it on.
        return env_flag("WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
