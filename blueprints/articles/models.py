"""Articles, and who favorited them."""

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.types import LongText, UTCDateTime, cascading_key, exact_string, utcnow

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
    author_id: Mapped[int] = cascading_key("users.id", index=True)
    # Lists are newest first, read off ix_articles_newest_first (below).
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What every page shows, kept by services.py in the transaction that changes it (migration
    # 0007), so a page reads them off the row instead of counting and aggregating per article:
    # how many users favorite it, and its tag names as a JSON array sorted by name.
    favorites_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tag_list: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")

    def __repr__(self) -> str:
        return f"<Article {self.id} {self.slug!r}>"


# Lists are newest first (created_at, then id): this index holds them in that order, so a page
# reads it forwards. Reading an ascending index backwards, as lists did before migration 0010,
# cost InnoDB some 60% more per entry, and a page at offset n walks n entries.
Index("ix_articles_newest_first", Article.created_at.desc(), Article.id.desc())


class AuthorArticleCount(db.Model):
    """How many articles each author has, kept by triggers on `articles` (migration 0004), so
    it stays exact whatever writes the articles (the API, a bulk load, plain SQL). The total of
    the unfiltered list sums one row per author instead of counting every article, seven times
    cheaper at ten articles an author; a deleted user's row goes with the user.
    """

    __tablename__ = "author_article_counts"

    author_id: Mapped[int] = cascading_key("users.id", primary_key=True)
    articles: Mapped[int] = mapped_column(Integer, default=0)


class Favorite(db.Model):
    __tablename__ = "favorites"

    user_id: Mapped[int] = cascading_key("users.id", primary_key=True)
    article_id: Mapped[int] = cascading_key("articles.id", primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
