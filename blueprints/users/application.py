"""Routes of the users service: register, log in, read and update the current user."""

from flask import Blueprint, g

from app.extensions import db
from app.openapi import SPEC_ONLY, Envelope, documents
from app.ratelimits import rate_limited

from .auth import requires_user
from .serializers import (
    AuthenticatedUserOutput,
    LoginInput,
    RegistrationInput,
    SignedIn,
    UserUpdateInput,
)
from .services import log_in, register_user, save_user

# cli_group=None: its commands are `manage.py revoke-tokens`, not `manage.py users ...`.
blueprint = Blueprint("users", __name__, cli_group=None)

user_envelope = Envelope("user", AuthenticatedUserOutput)


@blueprint.post("/users")
@rate_limited("registration_per_address")
@documents(input=Envelope("user", RegistrationInput), output=user_envelope, status=201)
def create_user(fields):
    """Register a new user and log them in."""
    user = register_user(**fields)
    db.session.commit()
    return SignedIn.new(user)


@blueprint.post("/users/login")
@rate_limited("login_per_account", "login_per_address")
@documents(
    input=Envelope("user", LoginInput),
    output=user_envelope,
    responses={401: "Wrong email or password"},
)
def login_user(credentials):
    """Exchange email and password for a token."""
    return SignedIn.new(log_in(**credentials))


@blueprint.get("/user")
@requires_user
@documents(output=user_envelope, responses={422: SPEC_ONLY})
def get_current_user(user):
    """The user the token belongs to."""
    return SignedIn(user, g.token)


@blueprint.put("/user")
@requires_user
@documents(input=Envelope("user", UserUpdateInput), output=user_envelope)
def update_current_user(user, changes):
    """Change the current user's details; fields left out stay as they are.

    A new email or password revokes every earlier token: the answer carries a fresh one."""
    generation = user.token_generation
    save_user(user, changes)
    db.session.commit()
    return SignedIn(user, g.token) if user.token_generation == generation else SignedIn.new(user)
