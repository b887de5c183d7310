"""Local development: SQLite and a broker that needs no server, unless `.env` says otherwise."""

from dotenv import load_dotenv

from .base import PROJECT_ROOT, Config


class Development(Config):
    """Reads `.env` first, so a developer's settings override the embedded defaults."""

    def __init__(self) -> None:
        load_dotenv(PROJECT_ROOT / ".env")
        super().__init__()
        self.DEBUG = True
