"""Routes of the profiles service: view a profile, follow and unfollow."""

from flask import Blueprint
from sqlalchemy.exc import IntegrityError

from app.errors import ApiError
from app.events import publish
from app.extensions import db
from app.openapi import OPTIONAL_TOKEN, SPEC_ONLY, TOKEN, documents, envelope
from blueprints.users.auth import accepts_user, requires_user
from blueprints.users.models import User

from .models import Follow, followed_ids
from .serializers import ProfileOutput, profile_of

blueprint = Blueprint("profiles", __name__)

profile_envelope = envelope("profile", ProfileOutput)
NO_SUCH_USER = "No user has this username"


def find_user(username: str) -> User:
    user = db.session.scalar(db.select(User).filter_by(username=username))
    if user is None:
        raise ApiError(404, "profile not found")
    return user


@blueprint.get("/profiles/<username>")
@documents(
    output=profile_envelope, responses={404: NO_SUCH_USER, 422: SPEC_ONLY}, auth=OPTIONAL_TOKEN
)
@accepts_user
def get_profile(viewer, username):
    """A user's public profile, with whether the viewer follows them."""
    user = find_user(username)
    following = bool(viewer and followed_ids(viewer.id, [user.id]))
    return {"profile": profile_of(user, following)}


@blueprint.post("/profiles/<username>/follow")
@documents(
    output=profile_envelope,
    responses={404: NO_SUCH_USER, 422: "You cannot follow yourself"},
    auth=TOKEN,
)
@requires_user
def follow_user(viewer, username):
    """Follow a user; following someone already followed changes nothing."""
    user = find_user(username)
    if user.id == viewer.id:
        raise ApiError(422, "cannot follow yourself", field="username")
    if db.session.get(Follow, (viewer.id, user.id)) is None:
        try:
            with db.session.begin_nested():
                db.session.add(Follow(follower_id=viewer.id, followed_id=user.id))
        except IntegrityError:
            pass  # a concurrent request followed first: the result is the same
        else:
            publish(
                "profile.followed",
                {"profile": profile_of(user, True), "follower": profile_of(viewer, False)},
            )
    db.session.commit()
    return {"profile": profile_of(user, True)}


@blueprint.delete("/profiles/<username>/follow")
@documents(output=profile_envelope, responses={404: NO_SUCH_USER, 422: SPEC_ONLY}, auth=TOKEN)
@requires_user
def unfollow_user(viewer, username):
    """Stop following a user; unfollowing someone not followed changes nothing."""
    user = find_user(username)
    db.session.execute(db.delete(Follow).filter_by(follower_id=viewer.id, followed_id=user.id))
    db.session.commit()
    return {"profile": profile_of(user, False)}
