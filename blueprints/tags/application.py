"""Routes of the tags service: the tags in use, most used first."""

from flask import Blueprint

from app.cache import cached_for_anonymous
from app.openapi import SPEC_ONLY, documents

from .queries import popular_tag_names
from .serializers import TagsOutput

blueprint = Blueprint("tags", __name__)


@blueprint.get("/tags")
@cached_for_anonymous
@documents(output=TagsOutput, responses={422: SPEC_ONLY})
def list_tags():
    """Every tag some article carries, most used first (ties by name)."""
    return {"tags": popular_tag_names()}
