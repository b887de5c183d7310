"""Reading profiles: a user's public columns and whether the viewer follows them."""

from functools import cache

from sqlalchemy import Row, Select, bindparam, exists, false, select

from app.reads import read_first
from blueprints.users.models import User

from .models import Follow

users = User.__table__
follows = Follow.__table__


@cache
def _profile_statement(viewed: bool) -> Select:
    """The profile of the user called `username` (a bind parameter), with whether the viewer
    `viewer_id` follows them when `viewed` (false for an anonymous viewer)."""
    following = (
        exists().where(
            follows.c.follower_id == bindparam("viewer_id"), follows.c.followed_id == users.c.id
        )
        if viewed
        else false()
    )
    return select(users.c.username, users.c.bio, users.c.image, following.label("following")).where(
        users.c.username == bindparam("username")
    )


def find_profile(username: str, viewer_id: int | None) -> Row | None:
    """The profile of the user called exactly `username` as `viewer_id` (None: anonymous) sees
    it, in one statement; None if there is no such user."""
    parameters = {"username": username, "viewer_id": viewer_id}
    return read_first(_profile_statement(viewer_id is not None), parameters)
