"""Routes of the users service: register, log in, read and update the current user."""

from flask import Blueprint, g

from app.decorators import requires_user
from app.errors import ApiError
from app.extensions import db
from app.inputs import request_json
from app.security import issue_token, password_matches

from .models import User
from .serializers import login_input, registration_input, user_output, user_update_input
from .services import register_user, save_user

blueprint = Blueprint("users", __name__)


def user_response(user: User, token: str) -> dict:
    return {"user": {**user_output.dump(user), "token": token}}


@blueprint.post("/users")
def create_user():
    """Register a new user and log them in."""
    user = register_user(**registration_input.load(request_json("user")))
    db.session.commit()
    return user_response(user, issue_token(user.id)), 201


@blueprint.post("/users/login")
def login_user():
    """Exchange email and password for a token."""
    credentials = login_input.load(request_json("user"))
    user = db.session.scalar(db.select(User).filter_by(email=credentials["email"].strip().lower()))
    if user is None or not password_matches(user.password_hash, credentials["password"]):
        raise ApiError(401, "is invalid", field="email or password")
    return user_response(user, issue_token(user.id))


@blueprint.get("/user")
@requires_user
def get_current_user(user):
    """The user the token belongs to."""
    return user_response(user, g.token)


@blueprint.put("/user")
@requires_user
def update_current_user(user):
    """Change the current user's details; fields left out stay as they are."""
    save_user(user, user_update_input.load(request_json("user")))
    db.session.commit()
    return user_response(user, g.token)
