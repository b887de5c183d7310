"""Routes of the articles service: articles, the feed, favorites."""

from flask import Blueprint

from app.cache import cached_for_anonymous
from app.errors import ApiError
from app.events import publish
from app.extensions import db
from app.openapi import SPEC_ONLY, Envelope, documents
from app.schemas import PageQuery
from blueprints.users.auth import accepts_viewer, requires_user, requires_viewer

from . import queries, services
from .serializers import (
    ArticleListQuery,
    ArticleOutput,
    ArticleSummaryOutput,
    ArticleUpdateInput,
    NewArticleInput,
    article_event,
    article_output,
    article_summary_output,
    new_article_row,
    replaced,
    with_favorite,
    written,
)

blueprint = Blueprint("articles", __name__)

article_envelope = Envelope("article", ArticleOutput, dump=article_output)
page_envelope = Envelope(
    "articles", ArticleSummaryOutput, many=True, count="articlesCount", dump=article_summary_output
)
NO_SUCH_ARTICLE = "No article has this slug"
NOT_THE_AUTHOR = "Only the article's author may change it"


def find_own_article(slug: str, user, viewer: int | None):
    """The article at `slug` as `viewer` sees it; 403 unless `user` wrote it."""
    article = queries.find_article(slug, viewer)
    if article.author_id != user.id:
        raise ApiError(403, "only the author may change this article")
    return article


@blueprint.get("/articles")
@cached_for_anonymous
@accepts_viewer
@documents(query=ArticleListQuery, output=page_envelope)
def list_articles(viewer, query):
    """The newest articles, filtered by tag, author and who favorited them; paged."""
    return queries.list_articles(viewer=viewer and viewer.id, **query)


@blueprint.get("/articles/feed")
@requires_viewer
@documents(query=PageQuery, output=page_envelope)
def list_feed(viewer, page):
    """The newest articles by the authors the viewer follows; paged."""
    return queries.list_articles(queries.ArticleFilters(followed_by=viewer.id), viewer.id, **page)


@blueprint.get("/articles/<slug>")
@cached_for_anonymous
@accepts_viewer
@documents(output=article_envelope, responses={404: NO_SUCH_ARTICLE, 422: SPEC_ONLY})
def get_article(viewer, slug):
    """One article, body included, as the viewer sees it."""
    return queries.find_article(slug, viewer and viewer.id)


@blueprint.post("/articles")
@requires_user
@documents(input=Envelope("article", NewArticleInput), output=article_envelope, status=201)
def create_article(user, fields):
    """Publish an article written by the current user."""
    created = new_article_row(services.create_article(user.id, **fields), user)
    publish("article.created", article_event(created))
    db.session.commit()
    return created


@blueprint.put("/articles/<slug>")
@requires_user
@documents(
    input=Envelope("article", ArticleUpdateInput),
    output=article_envelope,
    responses={403: NOT_THE_AUTHOR, 404: NO_SUCH_ARTICLE},
)
def update_article(user, changes, slug):
    """Change the current user's article; a new title gives a new slug."""
    seen = find_own_article(slug, user, user.id)
    updated = replaced(seen, **written(services.update_article(seen.id, changes)))
    publish("article.updated", article_event(updated))
    db.session.commit()
    return updated


@blueprint.delete("/articles/<slug>")
@requires_user
@documents(status=204, responses={403: NOT_THE_AUTHOR, 404: NO_SUCH_ARTICLE, 422: SPEC_ONLY})
def delete_article(user, slug):
    """Delete the current user's article, with its tags, comments and favorites."""
    deleted = find_own_article(slug, user, None)
    services.delete_article(deleted.id)
    publish("article.deleted", article_event(deleted))
    db.session.commit()


@blueprint.post("/articles/<slug>/favorite")
@requires_user
@documents(output=article_envelope, responses={404: NO_SUCH_ARTICLE, 422: SPEC_ONLY})
def favorite_article(user, slug):
    """Favorite an article; favoriting it again changes nothing."""
    seen = queries.find_article(slug, user.id)
    added = services.favorite_article(user.id, seen.id)
    db.session.commit()
    return with_favorite(seen, True, added)


@blueprint.delete("/articles/<slug>/favorite")
@requires_user
@documents(output=article_envelope, responses={404: NO_SUCH_ARTICLE, 422: SPEC_ONLY})
def unfavorite_article(user, slug):
    """Stop favoriting an article; unfavoriting it again changes nothing."""
    seen = queries.find_article(slug, user.id)
    removed = services.unfavorite_article(user.id, seen.id)
    db.session.commit()
    return with_favorite(seen, False, -removed)
