"""Production: refuses to start unless the database and a real secret are configured."""

import os

from .base import Config, ConfigError, env_flag

MIN_SECRET_KEY_BYTES = 32
# Brokers that live in one process or on one disk: a fleet's hosts would not share their tasks.
LOCAL_BROKERS = ("filesystem://", "memory://")


class Production(Config):
    """Every address and secret comes from the environment; nothing falls back silently."""

    def __init__(self) -> None:
        super().__init__()
        problems = []
        if not os.environ.get("DATABASE_URL"):
            problems.append("DATABASE_URL is not set")
        secret = os.environ.get("SECRET_KEY", "")
        if len(secret.encode()) < MIN_SECRET_KEY_BYTES:
            problems.append(f"SECRET_KEY must be set to at least {MIN_SECRET_KEY_BYTES} bytes")
        if "*" in self.CORS_ORIGINS:
            problems.append("CORS_ORIGINS must list origins, not '*'")
        if env_flag("WEBHOOK_ALLOW_PRIVATE_TARGETS", False):
            problems.append("WEBHOOK_ALLOW_PRIVATE_TARGETS is for development and tests only")
        if self.CELERY_BROKER_URL.startswith(LOCAL_BROKERS):
            problems.append(
                "CELERY_BROKER_URL must name a broker every host reaches (RabbitMQ or Redis), "
                f"not {self.CELERY_BROKER_URL.split('://')[0]}://"
            )
        if self.TEST_ENDPOINTS:
            problems.append("TEST_ENDPOINTS is for tests only")
        if problems:
            raise ConfigError("production config refused: " + "; ".join(problems))
