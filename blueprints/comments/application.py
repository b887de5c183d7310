"""Routes of the comments service."""

from flask import Blueprint

from . import models  # noqa: F401

blueprint = Blueprint("comments", __name__)
