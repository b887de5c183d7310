"""Who follows whom, for profiles and lists."""

from sqlalchemy import select

from app.extensions import db

from .models import Follow


def followed_ids(viewer_id: int | None, user_ids) -> set[int]:
    """Which of `user_ids` the viewer follows, in one query (none for an anonymous viewer)."""
    user_ids = set(user_ids)
    if viewer_id is None or not user_ids:
        return set()
    query = select(Follow.followed_id).where(
        Follow.follower_id == viewer_id, Follow.followed_id.in_(user_ids)
    )
    return set(db.session.scalars(query))
