"""Routes of the tags service."""

from flask import Blueprint

from . import models  # noqa: F401

blueprint = Blueprint("tags", __name__)
