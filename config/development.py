"""Local development: SQLite and a broker that needs no server, unless `.env` says otherwise."""

from .base import PROJECT_ROOT, Config, env_flag


class Development(Config):
    """Reads `.env` first, so a developer's settings override the embedded defaults."""

    # Any origin may call the API from a browser: local front ends on any port just work.
    DEFAULT_CORS_ORIGINS = "*"

    def __init__(self) -> None:
        # Imported here: config/__init__.py imports every config, and python-dotenv costs
        # 25 ms of CPU to import (its regular expressions) in every process.
        from dotenv import load_dotenv

        load_dotenv(PROJECT_ROOT / ".env")
        super().__init__()
        self.DEBUG = True

    def allow_private_webhook_targets(self) -> bool:
        # Set WEBHOOK_ALLOW_PRIVATE_TARGETS=1 to deliver webhooks to a receiver on this machine.
        return env_flag("WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
