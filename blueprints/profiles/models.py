"""Who follows whom."""

from datetime import datetime

from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.types import UTCDateTime, cascading_key, utcnow


class Follow(db.Model):
    __tablename__ = "follows"

    follower_id: Mapped[int] = cascading_key("users.id", primary_key=True)
    followed_id: Mapped[int] = cascading_key("users.id", primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
