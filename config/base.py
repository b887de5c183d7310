"""Settings shared by every environment; each can be overridden from the environment."""

import importlib.util
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_FOLDER = PROJECT_ROOT / "instance"


class ConfigError(RuntimeError):
    """The configuration cannot work: names the setting that is missing or wrong."""


def sqlite_url(name: str) -> str:
    """The URL of an SQLite database file kept under instance/."""
    return f"sqlite:///{INSTANCE_FOLDER / name}"


def mysql_driver() -> str:
    """The driver of `mysql://` URLs: mysqlclient (C, `mysqldb`) when it is installed
    (requirements/production.pip; it builds against Debian's libmariadb-dev), else PyMySQL
    (pure Python, always installed), which costs about a fifth more CPU per request."""
    return "mysqldb" if importlib.util.find_spec("MySQLdb") else "pymysql"


def database_url(url: str) -> str:
    """Normalise a database URL: MariaDB/MySQL go through mysqlclient, else PyMySQL, with full
    UTF-8; a URL naming its driver (`mysql+pymysql://`) keeps it."""
    if url.startswith(("mysql://", "mariadb://")):
        url = f"mysql+{mysql_driver()}://" + url.split("://", 1)[1]
    if url.startswith(("mysql+pymysql://", "mysql+mysqldb://")) and "charset=" not in url:
        url += ("&" if "?" in url else "?") + "charset=utf8mb4"
    return url


def engine_options(url: str, timeout: int) -> dict:
    """SQLAlchemy engine options: no ping before each use and no reset ROLLBACK of its own
    (app/engines.py decides both, with a round trip only when needed), and on MariaDB give up
    on an unreachable or silent server in time."""
    options: dict = {"pool_recycle": 3600, "pool_reset_on_return": None}
    if url.startswith("mysql"):
        options["connect_args"] = {
            "connect_timeout": min(timeout, 5),
            "read_timeout": timeout,
            "write_timeout": timeout,
        }
    return options


def split_list(value: str) -> list[str]:
    """A list setting from the environment: items separated by commas or spaces."""
    return [item for item in value.replace(",", " ").split() if item]


def env_flag(name: str, default: bool) -> bool:
    """A yes/no setting from the environment (1, true, yes, on)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Defaults for every environment, read from the environment when the config is built."""

    DEFAULT_DATABASE = "development.sqlite"
    DEFAULT_SECRET_KEY = "development-secret-key-do-not-use-in-production"
    # Encrypts webhook secrets in development and tests only: production refuses it.
    DEVELOPMENT_WEBHOOK_SECRET_KEY = "F98NCK383uEjWuErOmudanQcFoBbSfvObkwge323g3o="
    # Browser origins allowed to call the API (CORS); none unless configured.
    DEFAULT_CORS_ORIGINS = ""

    def __init__(self) -> None:
        environ = os.environ
        self.ENV_NAME = type(self).__name__.lower()
        self.SECRET_KEY = environ.get("SECRET_KEY", self.DEFAULT_SECRET_KEY)
        # Earlier keys, still accepted on tokens while they expire (key rotation, Flask's name).
        self.SECRET_KEY_FALLBACKS = split_list(environ.get("SECRET_KEY_FALLBACKS", ""))
        self.SQLALCHEMY_DATABASE_URI = database_url(
            self.database_url_from_environment() or sqlite_url(self.DEFAULT_DATABASE)
        )
        self.DATABASE_TIMEOUT = int(environ.get("DATABASE_TIMEOUT", 20))
        # A pooled connection idle for longer is pinged before use (app/engines.py).
        self.DATABASE_PING_AFTER_IDLE_SECONDS = float(
            environ.get("DATABASE_PING_AFTER_IDLE_SECONDS", 1)
        )
        # Runs of a request's transaction in all when MariaDB reports a deadlock or a lock-wait
        # timeout (app/transactions.py): the first, then retries with jittered backoff.
        self.DATABASE_RETRY_ATTEMPTS = int(environ.get("DATABASE_RETRY_ATTEMPTS", 5))
        # How long a write's Idempotency-Key and its stored answer are kept (app/idempotency.py).
        self.IDEMPOTENCY_KEY_TTL_SECONDS = int(environ.get("IDEMPOTENCY_KEY_TTL_SECONDS", 86400))
        # SQLite only: BEGIN IMMEDIATE takes the write lock up front, so a transaction that reads
        # then writes while another process (the Celery worker) commits waits for the lock
        # instead of failing at once with "database is locked" (SQLite cannot upgrade safely).
        self.SQLITE_BEGIN = "BEGIN IMMEDIATE"
        self.SQLALCHEMY_ENGINE_OPTIONS = engine_options(
            self.SQLALCHEMY_DATABASE_URI, self.DATABASE_TIMEOUT
        )
        # MariaDB: GET and HEAD requests read on connections in autocommit, so a read ends
        # without a ROLLBACK round trip (app/engines.py).
        self.DATABASE_AUTOCOMMIT_READS = self.autocommit_reads_enabled()
        self.configure_replicas()
        self.MAX_CONTENT_LENGTH = int(environ.get("MAX_CONTENT_LENGTH", 1024 * 1024))
        self.CELERY_BROKER_URL = environ.get("CELERY_BROKER_URL", "filesystem://")
        # Anonymous answers of hot reads kept in memory, invalidated through Redis (app/cache.py);
        # empty: no read cache.
        self.READ_CACHE_REDIS_URL = self.read_cache_redis_url_from_environment()
        self.READ_CACHE_ENTRIES = int(environ.get("READ_CACHE_ENTRIES", 1000))
        self.SENTRY_DSN = self.sentry_dsn_from_environment()
        self.CORS_ORIGINS = split_list(environ.get("CORS_ORIGINS", self.DEFAULT_CORS_ORIGINS))
        self.LOG_LEVEL = environ.get("LOG_LEVEL", "INFO").upper()
        self.LOG_FORMAT = environ.get("LOG_FORMAT", "text").lower()
        self.JWT_LIFETIME_SECONDS = int(environ.get("JWT_LIFETIME_SECONDS", 14 * 24 * 3600))
        # argon2id cost: the library's defaults (RFC 9106 low-memory profile).
        self.PASSWORD_HASH_TIME_COST = int(environ.get("PASSWORD_HASH_TIME_COST", 3))
        self.PASSWORD_HASH_MEMORY_KIB = int(environ.get("PASSWORD_HASH_MEMORY_KIB", 65536))
        # Shortest password accepted at registration or change (NIST SP 800-63B: at least 8).
        self.PASSWORD_MIN_LENGTH = int(environ.get("PASSWORD_MIN_LENGTH", 8))
        self.CLIENT_KEY_REQUIRED = env_flag("CLIENT_KEY_REQUIRED", False)
        self.configure_webhooks()
        self.configure_rate_limits()
        # Metrics (Prometheus): the web's own listener (served by the gunicorn master), a token
        # that lets GET /metrics through on the API's listener, the Celery worker's listener.
        self.METRICS_BIND = environ.get("METRICS_BIND", "")
        self.METRICS_TOKEN = environ.get("METRICS_TOKEN", "")
        self.WORKER_METRICS_BIND = environ.get("WORKER_METRICS_BIND", "")
        self.RELEASE = environ.get("RELEASE") or read_release()

    def configure_replicas(self) -> None:
        """Read replicas (MariaDB) for GET requests, and the Redis every process shares."""
        environ = os.environ
        self.REDIS_URL = environ.get("REDIS_URL", "")
        self.DATABASE_REPLICA_URLS = [
            database_url(url) for url in split_list(environ.get("DATABASE_REPLICA_URLS", ""))
        ]
        self.DATABASE_REPLICA_MAX_LAG_SECONDS = float(
            environ.get("DATABASE_REPLICA_MAX_LAG_SECONDS", 5)
        )
        if not self.DATABASE_REPLICA_URLS:
            return
        if not self.SQLALCHEMY_DATABASE_URI.startswith("mysql"):
            raise ConfigError("DATABASE_REPLICA_URLS needs a MariaDB primary (DATABASE_URL)")
        if not self.REDIS_URL:
            raise ConfigError(
                "DATABASE_REPLICA_URLS needs REDIS_URL: a user's recent writes are kept there"
            )

    def database_url_from_environment(self) -> str | None:
        """The database this environment uses when one is configured."""
        return os.environ.get("DATABASE_URL")

    def sentry_dsn_from_environment(self) -> str:
        """Where this environment reports errors (Sentry); empty means nowhere."""
        return os.environ.get("SENTRY_DSN", "")

    def autocommit_reads_enabled(self) -> bool:
        return env_flag("DATABASE_AUTOCOMMIT_READS", True)

    def read_cache_redis_url_from_environment(self) -> str:
        """The Redis of the read cache's generation counter; empty means no read cache."""
        return os.environ.get("READ_CACHE_REDIS_URL", "")

    def configure_webhooks(self) -> None:
        """Webhook delivery: timeouts, retries with backoff, when to give up on an endpoint."""
        environ = os.environ
        self.WEBHOOK_CONNECT_TIMEOUT_SECONDS = float(
            environ.get("WEBHOOK_CONNECT_TIMEOUT_SECONDS", 3)
        )
        self.WEBHOOK_READ_TIMEOUT_SECONDS = float(environ.get("WEBHOOK_READ_TIMEOUT_SECONDS", 10))
        # The whole attempt (connect, send, the answer however slowly it comes) ends by then.
        self.WEBHOOK_ATTEMPT_DEADLINE_SECONDS = float(
            environ.get("WEBHOOK_ATTEMPT_DEADLINE_SECONDS", 15)
        )
        # Attempts in flight at once for one webhook: a slow receiver occupies no more workers.
        self.WEBHOOK_MAX_CONCURRENT_ATTEMPTS = int(
            environ.get("WEBHOOK_MAX_CONCURRENT_ATTEMPTS", 1)
        )
        self.WEBHOOK_MAX_ATTEMPTS = int(environ.get("WEBHOOK_MAX_ATTEMPTS", 8))
        self.WEBHOOK_RETRY_BASE_SECONDS = float(environ.get("WEBHOOK_RETRY_BASE_SECONDS", 10))
        self.WEBHOOK_RETRY_MAX_SECONDS = float(environ.get("WEBHOOK_RETRY_MAX_SECONDS", 3600))
        self.WEBHOOK_DISABLE_AFTER_FAILURES = int(environ.get("WEBHOOK_DISABLE_AFTER_FAILURES", 10))
        # How long a worker holds a delivery while sending: longer than any one attempt.
        self.WEBHOOK_DELIVERY_LEASE_SECONDS = float(
            environ.get("WEBHOOK_DELIVERY_LEASE_SECONDS", 60)
        )
        # How long a pending delivery may be overdue before the sweep hands it over again.
        self.WEBHOOK_SWEEP_GRACE_SECONDS = float(environ.get("WEBHOOK_SWEEP_GRACE_SECONDS", 30))
        # Deliveries and attempts older than this are deleted by beat.
        self.WEBHOOK_RETENTION_DAYS = float(environ.get("WEBHOOK_RETENTION_DAYS", 30))
        # A hand-over to the broker (after a commit) waits at most this long per step: a
        # request never hangs on a frozen broker; what is not handed over waits for the sweep.
        self.BROKER_PUBLISH_TIMEOUT_SECONDS = float(
            environ.get("BROKER_PUBLISH_TIMEOUT_SECONDS", 0.5)
        )
        self.WEBHOOK_ALLOW_PRIVATE_TARGETS = self.allow_private_webhook_targets()
        # The CAs a receiver's certificate must chain to (a PEM file); empty: certifi's bundle.
        self.WEBHOOK_CA_FILE = environ.get("WEBHOOK_CA_FILE", "")
        # Fernet keys that encrypt webhook secrets at rest: the first encrypts, all decrypt.
        self.WEBHOOK_SECRET_KEYS = split_list(
            environ.get("WEBHOOK_SECRET_KEYS", self.DEVELOPMENT_WEBHOOK_SECRET_KEY)
        )
        # After rotate-secret, how long the old secret still signs beside the new one.
        self.WEBHOOK_SECRET_OVERLAP_SECONDS = float(
            environ.get("WEBHOOK_SECRET_OVERLAP_SECONDS", 24 * 3600)
        )
        deadline = self.WEBHOOK_ATTEMPT_DEADLINE_SECONDS
        if deadline >= self.WEBHOOK_DELIVERY_LEASE_SECONDS:
            raise ConfigError(
                "WEBHOOK_DELIVERY_LEASE_SECONDS must exceed WEBHOOK_ATTEMPT_DEADLINE_SECONDS "
                f"({deadline:g} s): a claim must outlast the attempt it covers"
            )
        if self.WEBHOOK_MAX_CONCURRENT_ATTEMPTS < 1:
            raise ConfigError("WEBHOOK_MAX_CONCURRENT_ATTEMPTS must be at least 1")

    def allow_private_webhook_targets(self) -> bool:
        """Whether webhooks may target loopback and private addresses: never, by default."""
        return False

    def configure_rate_limits(self) -> None:
        """Rate limits (Flask-Limiter syntax: "10 per minute;100 per day") and where they count."""
        environ = os.environ
        self.RATELIMIT_ENABLED = self.rate_limits_enabled()
        # Redis shared by every worker and node; empty: the broker's Redis, else memory.
        self.RATELIMIT_STORAGE_URI = environ.get("RATELIMIT_STORAGE_URI", "")
        self.RATELIMIT_KEY_PREFIX = environ.get("RATELIMIT_KEY_PREFIX", "conduit")
        limits = {
            # Failed logins only: the account's owner is never kept out by their own logins.
            "RATELIMIT_LOGIN_PER_ACCOUNT": "10 per minute;100 per day",
            "RATELIMIT_LOGIN_PER_ADDRESS": "30 per minute;300 per hour",
            "RATELIMIT_REGISTRATION_PER_ADDRESS": "10 per hour",
            "RATELIMIT_WRITES_PER_USER": "60 per minute;1000 per hour",
            "RATELIMIT_WEBHOOKS_PER_CLIENT": "60 per minute",
        }
        for name, default in limits.items():
            setattr(self, name, environ.get(name, default))
        # How many proxies in front of the app to believe about the client's address
        # (X-Forwarded-For); 0 trusts none, so a client cannot choose its address.
        self.TRUSTED_PROXIES = int(environ.get("TRUSTED_PROXIES", 0))

    def rate_limits_enabled(self) -> bool:
        """Whether requests are rate limited: yes, unless RATELIMIT_ENABLED says no."""
        return env_flag("RATELIMIT_ENABLED", True)


def rate_limit_storage(config) -> str:
    """Where rate limit counters live: RATELIMIT_STORAGE_URI, else the shared REDIS_URL, else
    the broker's Redis, else this process's memory."""
    if config.RATELIMIT_STORAGE_URI:
        return config.RATELIMIT_STORAGE_URI
    if getattr(config, "REDIS_URL", ""):
        return config.REDIS_URL
    if config.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        return config.CELERY_BROKER_URL
    return "memory://"


def read_release() -> str:
    """The running release: the VERSION file beside the code, else 'dev'."""
    version_file = PROJECT_ROOT / "VERSION"
    if version_file.exists():
        return version_file.read_text(encoding="utf-8").strip() or "dev"
    return "dev"
