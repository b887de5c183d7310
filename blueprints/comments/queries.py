"""Reading comments with one column select: the comments, their authors, and whether the
viewer follows each author.
"""

from sqlalchemy import ColumnElement, bindparam, exists, select

from app.extensions import db
from blueprints.profiles.models import Follow
from blueprints.users.models import User

from .models import Comment

comments = Comment.__table__
authors = User.__table__
follows = Follow.__table__


def _comment_views(condition: ColumnElement[bool], viewer: int | None) -> list[dict]:
    following = exists().where(
        follows.c.follower_id == bindparam("viewer_id"),
        follows.c.followed_id == comments.c.author_id,
    )
    query = (
        select(
            comments.c.id,
            comments.c.body,
            comments.c.created_at,
            comments.c.updated_at,
            authors.c.username,
            authors.c.bio,
            authors.c.image,
            following.label("following"),
        )
        .select_from(comments.outerjoin(authors, authors.c.id == comments.c.author_id))
        .where(condition)
        .order_by(comments.c.created_at, comments.c.id)
    )
    return [
        {
            "id": row.id,
            "body": row.body,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "author": {
                "username": row.username,
                "bio": row.bio,
                "image": row.image,
                "following": bool(row.following),
            },
        }
        for row in db.session.execute(query, {"viewer_id": viewer})
    ]


def article_comments(article_id: int, viewer: int | None) -> list[dict]:
    """The article's comments, oldest first, as `viewer` sees them: one statement."""
    return _comment_views(comments.c.article_id == article_id, viewer)


def find_comment(comment_id: int, viewer: int | None) -> dict | None:
    """The comment `comment_id` as `viewer` sees it; None if there is none."""
    views = _comment_views(comments.c.id == comment_id, viewer)
    return views[0] if views else None
