"""Routes of the comments service: read, write and delete the comments of an article."""

from flask import Blueprint

from app.extensions import db
from app.openapi import SPEC_ONLY, Envelope, documents
from blueprints.articles.queries import find_article
from blueprints.users.auth import accepts_user, requires_user

from . import queries, services
from .serializers import CommentOutput, NewCommentInput

blueprint = Blueprint("comments", __name__)

NO_SUCH_ARTICLE = "No article has this slug"


@blueprint.get("/articles/<slug>/comments")
@accepts_user
@documents(
    output=Envelope("comments", CommentOutput, many=True),
    responses={404: NO_SUCH_ARTICLE, 422: SPEC_ONLY},
)
def list_comments(viewer, slug):
    """The article's comments, oldest first."""
    return queries.article_comments(find_article(slug, None).id, viewer and viewer.id)


@blueprint.post("/articles/<slug>/comments")
@requires_user
@documents(
    input=Envelope("comment", NewCommentInput),
    output=Envelope("comment", CommentOutput),
    responses={404: NO_SUCH_ARTICLE},
)
def create_comment(user, fields, slug):
    """Comment on an article as the current user."""
    article = find_article(slug, None)
    created = services.create_comment(article.id, article.slug, user.id, **fields)
    db.session.commit()
    return created


@blueprint.delete("/articles/<slug>/comments/<int:comment_id>")
@requires_user
@documents(
    status=204,
    responses={
        403: "Only the comment's author may delete it",
        404: "No such article, or no such comment on it",
        422: SPEC_ONLY,
    },
)
def delete_comment(user, slug, comment_id):
    """Delete one of the current user's comments on the article."""
    article = find_article(slug, None)
    services.delete_comment(article.id, article.slug, comment_id, user.id)
    db.session.commit()
