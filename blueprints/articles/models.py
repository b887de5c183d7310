"""Articles, and who favorited them."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.types import LongText, UTCDateTime, exact_string, utcnow

TITLE_MAX_LENGTH = 255
DESCRIPTION_MAX_LENGTH = 255
BODY_MAX_LENGTH = 64 * 1024
SLUG_MAX_LENGTH = 255


class Article(db.Model):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Slugs compare exactly, so "zoe" and "zoë" are two articles on MariaDB as on SQLite.
    slug: Mapped[str] = mapped_column(exact_string(SLUG_MAX_LENGTH), unique=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH))
    description: Mapped[str] = mapped_column(String(DESCRIPTION_MAX_LENGTH))
    body: Mapped[str] = mapped_column(LongText)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Lists are newest first: (created_at, id) is read backwards from this index (InnoDB and
    # SQLite append the primary key to every secondary index).
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Article {self.id} {self.slug!r}>"


class Favorite(db.Model):
    __tablename__ = "favorites"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
