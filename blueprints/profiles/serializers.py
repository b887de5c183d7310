"""The public profile of a user, as seen by a viewer."""

from app.schemas import ProfileOutput

profile_output = ProfileOutput()


def profile_of(user, following: bool) -> dict:
    """The profile of `user` with the viewer's `following` flag."""
    return profile_output.dump(
        {"username": user.username, "bio": user.bio, "image": user.image, "following": following}
    )
