"""The user account."""

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, validates

from app.extensions import db
from app.types import UTCDateTime, exact_string, utcnow

from .identity import username_key

USERNAME_MAX_LENGTH = 64
EMAIL_MAX_LENGTH = 254
IMAGE_MAX_LENGTH = 2048
# A key is the casefolded skeleton of a name, which casefolding may make up to 3 times longer.
USERNAME_KEY_MAX_LENGTH = 255


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Usernames compare exactly on every database (MariaDB's default collation ignores case
    # and accents, SQLite's does not), so uniqueness and lookups agree everywhere.
    username: Mapped[str] = mapped_column(exact_string(USERNAME_MAX_LENGTH), unique=True)
    # Unique: no two users have names one could pass for the other (identity.py).
    username_key: Mapped[str] = mapped_column(exact_string(USERNAME_KEY_MAX_LENGTH), unique=True)
    # Normalised once (identity.normalized_email), then compared exactly on every database.
    email: Mapped[str] = mapped_column(exact_string(EMAIL_MAX_LENGTH), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Carried in every token; one more revokes every token issued before (password change).
    token_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    bio: Mapped[str] = mapped_column(Text, default="")
    image: Mapped[str] = mapped_column(String(IMAGE_MAX_LENGTH), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @validates("username")
    def _keep_username_key(self, _, username: str) -> str:
        self.username_key = username_key(username)
        return username

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r}>"
