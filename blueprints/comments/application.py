"""Routes of the comments service: read, write and delete the comments of an article."""

from flask import Blueprint

from app.errors import ApiError
from app.events import publish
from app.extensions import db
from app.inputs import request_json
from app.openapi import OPTIONAL_TOKEN, SPEC_ONLY, TOKEN, documents, envelope
from app.responses import no_content
from blueprints.articles.models import Article
from blueprints.users.auth import accepts_user, requires_user

from . import queries
from .models import Comment
from .serializers import (
    CommentOutput,
    NewCommentInput,
    as_anonymous,
    comment_list_output,
    comment_output,
    new_comment_input,
)

blueprint = Blueprint("comments", __name__)

NO_SUCH_ARTICLE = "No article has this slug"


def find_article_id(slug: str) -> int:
    article_id = db.session.scalar(db.select(Article.id).filter_by(slug=slug))
    if article_id is None:
        raise ApiError(404, "article not found")
    return article_id


@blueprint.get("/articles/<slug>/comments")
@documents(
    output=envelope("comments", CommentOutput, many=True),
    responses={404: NO_SUCH_ARTICLE, 422: SPEC_ONLY},
    auth=OPTIONAL_TOKEN,
)
@accepts_user
def list_comments(viewer, slug):
    """The article's comments, oldest first."""
    views = queries.article_comments(find_article_id(slug), viewer and viewer.id)
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
    article_id = find_article_id(slug)
    fields = new_comment_input.load(request_json("comment"))
    comment = Comment(article_id=article_id, author_id=user.id, **fields)
    db.session.add(comment)
    db.session.flush()
    created = comment_output.dump(queries.find_comment(comment.id, user.id))
    publish("comment.created", {"comment": as_anonymous(created), "article": {"slug": slug}})
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
    article_id = find_article_id(slug)
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.article_id != article_id:
        raise ApiError(404, "comment not found")
    if comment.author_id != user.id:
        raise ApiError(403, "only the author may delete this comment")
    deleted = comment_output.dump(queries.find_comment(comment.id, None))
    db.session.delete(comment)
    publish("comment.deleted", {"comment": deleted, "article": {"slug": slug}})
    db.session.commit()
    return no_content()
