"""Tags, and which articles carry them in which order."""

from datetime import datetime

from sqlalchemy import Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.types import UTCDateTime, cascading_key, exact_string

TAG_MAX_LENGTH = 50


class Tag(db.Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(exact_string(TAG_MAX_LENGTH), unique=True)
    # How many articles carry the tag, kept in the transaction that changes an article's tags:
    # GET /api/tags then reads one small table instead of aggregating every article's tags.
    articles_count: Mapped[int] = mapped_column(Integer, default=0, index=True)

    def __repr__(self) -> str:
        return f"<Tag {self.id} {self.name!r}>"


class ArticleTag(db.Model):
    """An article's tag at `position` in its tag list (0 first: the list is sorted by name)."""

    __tablename__ = "article_tags"

    article_id: Mapped[int] = cascading_key("articles.id", primary_key=True)
    tag_id: Mapped[int] = cascading_key("tags.id", primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    # The article's created_at (which never changes), copied here so that a tag's articles are
    # in ix_article_tags_newest_first in the lists' order: a page of a tag is read off it.
    article_created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# A tag's articles newest first (created_at, then id), as every list orders them.
Index(
    "ix_article_tags_newest_first",
    ArticleTag.tag_id,
    ArticleTag.article_created_at.desc(),
    ArticleTag.article_id.desc(),
)
