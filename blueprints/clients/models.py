"""API clients and their keys: the key is shown once, only its SHA-256 is stored."""

import hashlib
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.types import UTCDateTime, exact_string, utcnow

NAME_MAX_LENGTH = 100
KEY_TAG = "ck_"
# The public prefix ("ck_" + 12 hex digits) names the key in lists and logs and finds its row;
# the secret part is 32 random bytes. A key reads "ck_0123456789ab_<43 url-safe characters>".
PREFIX_LENGTH = len(KEY_TAG) + 12
SECRET_BYTES = 32
# Hashed when a key has no row, so an unknown key costs what a known one does.
UNKNOWN_KEY_HASH = hashlib.sha256(b"no such client key").hexdigest()


class Client(db.Model):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    # Compared exactly on MariaDB too: CK_0123456789AB is not the prefix ck_0123456789ab.
    key_prefix: Mapped[str] = mapped_column(exact_string(PREFIX_LENGTH), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def revoke(self) -> None:
        """Refuse this client's key from now on (revoking twice keeps the first time)."""
        if self.revoked_at is None:
            self.revoked_at = utcnow()

    def __repr__(self) -> str:
        return f"<Client {self.id} {self.key_prefix} {self.name!r}>"


def hash_client_key(key: str) -> str:
    """The stored form of a key: SHA-256 is enough for 256 random bits (nothing to guess)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
