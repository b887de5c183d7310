"""Routes of the users service: register, log in, read and update the current user."""

from flask import Blueprint, g

from app.extensions import db
from app.inputs import request_json
from app.openapi import SPEC_ONLY, TOKEN, documents, envelope
from app.ratelimits import rate_limited
from app.security import issue_token

from .auth import requires_user
from .models import User
from .serializers import (
    AuthenticatedUserOutput,
    LoginInput,
    RegistrationInput,
    UserUpdateInput,
    login_input,
    registration_input,
    user_output,
    user_update_input,
)
from .services import log_in, register_user, save_user

# cli_group=None: its commands are `manage.py revoke-tokens`, not `manage.py users ...`.
blueprint = Blueprint("users", __name__, cli_group=None)

user_envelope = envelope("user", AuthenticatedUserOutput)


def user_response(user: User, token: str) -> dict:
    return {"user": {**user_output.dump(user), "token": token}}


@blueprint.post("/users")
@documents(input=envelope("user", RegistrationInput), output=user_envelope, status=201)
@rate_limited("registration_per_address")
def create_user():
    """Register a new user and log them in."""
    user = register_user(**registration_input.load(request_json("user")))
    db.session.commit()
    return user_response(user, issue_token(user.id, user.token_generation)), 201


@blueprint.post("/users/login")
@documents(
    input=envelope("user", LoginInput),
    output=user_envelope,
    responses={401: "Wrong email or password"},
)
@rate_limited("login_per_account", "login_per_address")
def login_user():
    """Exchange email and password for a token."""
    user = log_in(**login_input.load(request_json("user")))
    return user_response(user, issue_token(user.id, user.token_generation))


@blueprint.get("/user")
@documents(output=user_envelope, responses={422: SPEC_ONLY}, auth=TOKEN)
@requires_user
def get_current_user(user):
    """The user the token belongs to."""
    return user_response(user, g.token)


@blueprint.put("/user")
@documents(input=envelope("user", UserUpdateInput), output=user_envelope, auth=TOKEN)
@requires_user
def update_current_user(user):
    """Change the current user's details; fields left out stay as they are.

    A new email or password revokes every earlier token: the answer carries a fresh one."""
    generation = user.token_generation
    save_user(user, user_update_input.load(request_json("user")))
    db.session.commit()
    token = g.token if user.token_generation == generation else None
    return user_response(user, token or issue_token(user.id, user.token_generation))
