"""Local development: SQLite and a broker that needs no server, unless `.env` says otherwise."""

from dotenv import load_dotenv

from .base import PROJECT_ROOT, Config


class Development(Config):
    """Reads `.env` first, so a developer's settings override the embedded defaults."""

    # Any origin may call the API from a browser: local front ends on any port just work.
    DEFAULT_CORS_ORIGINS = "*"

    def __init__(self) -> None:
        load_dotenv(PROJECT_ROOT / ".env")
        super().__init__()
        self.DEBUG = True
