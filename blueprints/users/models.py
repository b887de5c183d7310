"""The user account."""

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy_utils import EmailType

from app.extensions import db
from app.types import UTCDateTime, utcnow

USERNAME_MAX_LENGTH = 64
EMAIL_MAX_LENGTH = 254
IMAGE_MAX_LENGTH = 2048

# Usernames compare exactly on every database (MariaDB's default collation ignores case and
# accents, SQLite's does not), so uniqueness and lookups agree everywhere.
ExactString = String(USERNAME_MAX_LENGTH).with_variant(
    mysql.VARCHAR(USERNAME_MAX_LENGTH, charset="utf8mb4", collation="utf8mb4_bin"),
    "mysql",
    "mariadb",
)


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(ExactString, unique=True)
    email: Mapped[str] = mapped_column(EmailType(EMAIL_MAX_LENGTH), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    bio: Mapped[str] = mapped_column(Text, default="")
    image: Mapped[str] = mapped_column(String(IMAGE_MAX_LENGTH), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r}>"
