"""Routes of the comments service: read, write and delete the comments of an article."""

from flask import Blueprint

from app.extensions import db
from app.inputs import request_json
from app.openapi import OPTIONAL_TOKEN, SPEC_ONLY, TOKEN, documents, envelope
from app.responses import no_content
from blueprints.articles.queries import find_article
from blueprints.users.auth import accepts_user, requires_user

from . import queries, services
from .serializers import (
    CommentOutput,
    NewCommentInput,
    comment_list_output,
    new_comment_input,
)

blueprint = Blueprint("comments", __name__)

NO_SUCH_ARTICLE = "No article has this slug"


@blueprint.get("/articles/<slug>/comments")
@documents(
    output=envelope("comments", CommentOutput, many=True),
    responses={404: NO_SUCH_ARTICLE, 422: SPEC_ONLY},
    auth=OPTIONAL_TOKEN,
)
@accepts_user
def list_comments(viewer, slug):
    """The article's comments, oldest first."""
    article = find_article(slug, None)
    views = queries.article_comments(article.id, viewer and viewer.id)
    return {"comments": comment_list_output.dump(views)}


@blueprint.post("/articles/<slug>/comments")
@documents(
    input=envelope("comment", NewCommentInput),
    output=envelope("comment", CommentOutput),
    responses={404: NO_SUCH_ARTICLE},
    auth=TOKEN,
)
@requires_user
def create_comment(user, slug):
    """Comment on an article as the current user."""
    article = find_article(slug, None)
    fields = new_comment_input.load(request_json("comment"))
    created = services.create_comment(article.id, article.slug, user.id, **fields)
    db.session.commit()
    return {"comment": created}


@blueprint.delete("/articles/<slug>/comments/<int:comment_id>")
@documents(
    status=204,
    responses={
        403: "Only the comment's author may delete it",
        404: "No such article, or no such comment on it",
        422: SPEC_ONLY,
    },
    auth=TOKEN,
)
@requires_user
def delete_comment(user, slug, comment_id):
    """Delete one of the current user's comments on the article."""
    article = find_article(slug, None)
    services.delete_comment(article.id, article.slug, comment_id, user.id)
    db.session.commit()
    return no_content()
