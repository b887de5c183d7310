"""Writing comments; each change publishes its event (`comment.created`, `comment.deleted`)."""

from app.errors import ApiError, found
from app.events import publish
from app.extensions import db

from .models import Comment
from .queries import find_comment
from .serializers import as_anonymous, comment_output


def create_comment(article_id: int, article_slug: str, author_id: int, body: str) -> dict:
    """A new comment on the article, as its author sees it (queries.find_comment's view)."""
    comment = Comment(article_id=article_id, author_id=author_id, body=body)
    db.session.add(comment)
    db.session.flush()
    created = find_comment(comment.id, author_id)
    publish(
        "comment.created",
        {"comment": as_anonymous(comment_output.dump(created)), "article": {"slug": article_slug}},
    )
    return created


def delete_comment(article_id: int, article_slug: str, comment_id: int, user_id: int) -> None:
    """Delete the comment `comment_id` of the article; 404 if the article has no such comment,
    403 unless `user_id` wrote it."""
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.article_id != article_id:
        raise ApiError(404, "comment not found")
    if comment.author_id != user_id:
        raise ApiError(403, "only the author may delete this comment")
    deleted = comment_output.dump(found(find_comment(comment.id, None), "comment"))
    db.session.delete(comment)
    publish("comment.deleted", {"comment": deleted, "article": {"slug": article_slug}})
