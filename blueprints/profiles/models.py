"""Who follows whom."""

from datetime import datetime

from sqlalchemy import ForeignKey, select
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.types import UTCDateTime, utcnow


class Follow(db.Model):
    __tablename__ = "follows"

    follower_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    followed_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def followed_ids(viewer_id: int | None, user_ids) -> set[int]:
    """Which of `user_ids` the viewer follows, in one query (none for an anonymous viewer)."""
    user_ids = set(user_ids)
    if viewer_id is None or not user_ids:
        return set()
    query = select(Follow.followed_id).where(
        Follow.follower_id == viewer_id, Follow.followed_id.in_(user_ids)
    )
    return set(db.session.scalars(query))
