"""Routes of the profiles service: view a profile, follow and unfollow."""

from flask import Blueprint

from app.cache import cached_for_anonymous
from app.errors import found
from app.extensions import db
from app.openapi import SPEC_ONLY, Envelope, documents
from blueprints.users.auth import accepts_viewer, requires_user
from blueprints.users.queries import find_user_by_username

from . import services
from .queries import find_profile
from .serializers import ProfileOutput, profile_of

blueprint = Blueprint("profiles", __name__)

profile_envelope = Envelope("profile", ProfileOutput)
NO_SUCH_USER = "No user has this username"


@blueprint.get("/profiles/<username>")
@cached_for_anonymous
@accepts_viewer
@documents(output=profile_envelope, responses={404: NO_SUCH_USER, 422: SPEC_ONLY})
def get_profile(viewer, username):
    """A user's public profile, with whether the viewer follows them."""
    profile = found(find_profile(username, viewer.id if viewer else None), "profile")
    return profile_of(profile, bool(profile.following))


@blueprint.post("/profiles/<username>/follow")
@requires_user
@documents(
    output=profile_envelope,
    responses={404: NO_SUCH_USER, 422: "You cannot follow yourself"},
)
def follow_user(viewer, username):
    """Follow a user; following someone already followed changes nothing."""
    user = found(find_user_by_username(username), "profile")
    services.follow_user(viewer, user)
    db.session.commit()
    return profile_of(user, True)


@blueprint.delete("/profiles/<username>/follow")
@requires_user
@documents(output=profile_envelope, responses={404: NO_SUCH_USER, 422: SPEC_ONLY})
def unfollow_user(viewer, username):
    """Stop following a user; unfollowing someone not followed changes nothing."""
    user = found(find_user_by_username(username), "profile")
    services.unfollow_user(viewer, user)
    db.session.commit()
    return profile_of(user, False)
