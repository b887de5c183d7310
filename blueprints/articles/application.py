"""Routes of the articles service."""

from flask import Blueprint

from . import models  # noqa: F401

blueprint = Blueprint("articles", __name__)
