"""Following and unfollowing users; a new follow publishes `profile.followed`."""

from app.errors import ApiError
from app.events import publish
from app.extensions import db
from app.transactions import write_in_savepoint
from blueprints.users.models import User

from .models import Follow
from .serializers import profile_of


def follow_user(viewer: User, user: User) -> None:
    """`viewer` follows `user`; following someone already followed changes nothing."""
    if user.id == viewer.id:
        raise ApiError(422, "cannot follow yourself", field="username")
    if db.session.get(Follow, (viewer.id, user.id)) is not None:
        return
    follow = Follow(follower_id=viewer.id, followed_id=user.id)
    # A concurrent request that followed first wins the unique key: the result is the same.
    if write_in_savepoint(lambda: db.session.add(follow)) is None:
        publish(
            "profile.followed",
            {"profile": profile_of(user, True), "follower": profile_of(viewer, False)},
        )


def unfollow_user(viewer: User, user: User) -> None:
    """`viewer` stops following `user`; unfollowing someone not followed changes nothing."""
    db.session.execute(db.delete(Follow).filter_by(follower_id=viewer.id, followed_id=user.id))
