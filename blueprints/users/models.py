"""The user account."""

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy_utils import EmailType

from app.extensions import db
from app.types import UTCDateTime, exact_string, utcnow

USERNAME_MAX_LENGTH = 64
EMAIL_MAX_LENGTH = 254
IMAGE_MAX_LENGTH = 2048


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Usernames compare exactly on every database (MariaDB's default collation ignores case
    # and accents, SQLite's does not), so uniqueness and lookups agree everywhere.
    username: Mapped[str] = mapped_column(exact_string(USERNAME_MAX_LENGTH), unique=True)
    email: Mapped[str] = mapped_column(EmailType(EMAIL_MAX_LENGTH), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    bio: Mapped[str] = mapped_column(Text, default="")
    image: Mapped[str] = mapped_column(String(IMAGE_MAX_LENGTH), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r}>"
