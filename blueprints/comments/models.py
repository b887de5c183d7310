"""Comments on articles."""

from datetime import datetime

from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.types import LongText, UTCDateTime, cascading_key, utcnow

COMMENT_MAX_LENGTH = 64 * 1024


class Comment(db.Model):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(LongText)
    article_id: Mapped[int] = cascading_key("articles.id", index=True)
    author_id: Mapped[int] = cascading_key("users.id", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Comment {self.id} on article {self.article_id}>"
