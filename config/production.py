"""Production: refuses to start unless the database and real secrets are configured."""

import os
import re

from cryptography.fernet import Fernet

from .base import PROJECT_ROOT, Config, ConfigError, env_flag, rate_limit_storage

MIN_SECRET_KEY_BYTES = 32
# Brokers that live in one process or on one disk: a fleet's hosts would not share their tasks.
LOCAL_BROKERS = ("filesystem://", "memory://")
MIN_SECRET_KEY_DISTINCT_CHARACTERS = 16
GENERATE_SECRET_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'
# Files whose example keys anyone can read: a key copied from them is public.
DOCUMENTED_FILES = (".env.example", "README.md")
DOCUMENTED_KEY = re.compile(r"SECRET_KEY(?:_FALLBACKS)?=['\"]?([^\s'\"`]+)")


def valid_secret_key(key: str) -> bool:
    """Whether `key` is a Fernet key (32 url-safe base64-encoded bytes)."""
    try:
        Fernet(key)
    except (ValueError, TypeError):
        return False
    return True


def documented_secret_keys() -> set[str]:
    """The development key, and every key value shown in .env.example or the README."""
    keys = {Config.DEFAULT_SECRET_KEY}
    for name in DOCUMENTED_FILES:
        path = PROJECT_ROOT / name
        if path.exists():
            keys.update(DOCUMENTED_KEY.findall(path.read_text(encoding="utf-8")))
    return keys


def weak_secret_key(key: str) -> str | None:
    """Why `key` cannot sign production tokens (too short, public, guessable), or None."""
    if len(key.encode()) < MIN_SECRET_KEY_BYTES:
        return f"must be at least {MIN_SECRET_KEY_BYTES} bytes"
    if key in documented_secret_keys():
        return "is a public example value"
    if len(set(key)) < MIN_SECRET_KEY_DISTINCT_CHARACTERS:
        return f"has fewer than {MIN_SECRET_KEY_DISTINCT_CHARACTERS} distinct characters"
    # A key made of one short run repeated (abcd...abcd...) has the entropy of the run.
    for length in range(1, len(key) // 2 + 1):
        if key == (key[:length] * (len(key) // length + 1))[: len(key)]:
            return "repeats one pattern"
    return None


class Production(Config):
    """Every address and secret comes from the environment; nothing falls back silently."""

    def __init__(self) -> None:
        super().__init__()
        problems = []
        if not os.environ.get("DATABASE_URL"):
            problems.append("DATABASE_URL is not set")
        problems += self.secret_key_problems()
        if "*" in self.CORS_ORIGINS:
            problems.append("CORS_ORIGINS must list origins, not '*'")
        if env_flag("WEBHOOK_ALLOW_PRIVATE_TARGETS", False):
            problems.append("WEBHOOK_ALLOW_PRIVATE_TARGETS is for development and tests only")
        if self.CELERY_BROKER_URL.startswith(LOCAL_BROKERS):
            problems.append(
                "CELERY_BROKER_URL must name a broker every host reaches (RabbitMQ or Redis), "
                f"not {self.CELERY_BROKER_URL.split('://')[0]}://"
            )
        problems += self.webhook_secret_key_problems()
        if self.RATELIMIT_ENABLED and rate_limit_storage(self) == "memory://":
            problems.append(
                "RATELIMIT_STORAGE_URI must name a Redis (redis://...) that every web worker "
                "and node shares (or use a Redis broker: CELERY_BROKER_URL)"
            )
        if problems:
            raise ConfigError("production config refused: " + "; ".join(problems))

    def webhook_secret_key_problems(self) -> list[str]:
        """WEBHOOK_SECRET_KEYS must be set, to real Fernet keys of this deployment's own."""
        generate = (
            'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key()'
            '.decode())"'
        )
        if not os.environ.get("WEBHOOK_SECRET_KEYS"):
            return [f"WEBHOOK_SECRET_KEYS is not set (generate a key: {generate})"]
        if self.DEVELOPMENT_WEBHOOK_SECRET_KEY in self.WEBHOOK_SECRET_KEYS:
            return ["WEBHOOK_SECRET_KEYS holds the development key"]
        if not all(valid_secret_key(key) for key in self.WEBHOOK_SECRET_KEYS):
            return [f"WEBHOOK_SECRET_KEYS must list Fernet keys (generate one: {generate})"]
        return []

    def secret_key_problems(self) -> list[str]:
        """SECRET_KEY and each of SECRET_KEY_FALLBACKS must be long, random and private."""
        if not os.environ.get("SECRET_KEY"):
            return [f"SECRET_KEY is not set (generate one: {GENERATE_SECRET_KEY})"]
        problems = []
        reason = weak_secret_key(self.SECRET_KEY)
        if reason:
            problems.append(f"SECRET_KEY {reason} (generate one: {GENERATE_SECRET_KEY})")
        for number, fallback in enumerate(self.SECRET_KEY_FALLBACKS, 1):
            reason = weak_secret_key(fallback)
            if reason:
                problems.append(f"SECRET_KEY_FALLBACKS: key {number} {reason}")
        return problems
