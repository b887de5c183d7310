"""Routes of the articles service: articles, the feed, favorites."""

from flask import Blueprint, request

from app.cache import cached_for_anonymous
from app.errors import ApiError
from app.events import publish
from app.extensions import db
from app.inputs import page_arguments, request_json
from app.openapi import OPTIONAL_TOKEN, SPEC_ONLY, TOKEN, documents, envelope
from app.responses import no_content
from app.schemas import PageQuery
from blueprints.users.auth import accepts_viewer, requires_user, requires_viewer

from . import queries, services
from .serializers import (
    ArticleListQuery,
    ArticleOutput,
    ArticleSummaryOutput,
    ArticleUpdateInput,
    NewArticleInput,
    article_output,
    article_update_input,
    as_anonymous,
    changed_article_output,
    new_article_input,
    new_article_output,
    with_favorite,
)

blueprint = Blueprint("articles", __name__)

article_envelope = envelope("article", ArticleOutput)
page_envelope = envelope("articles", ArticleSummaryOutput, many=True, count="articlesCount")
NO_SUCH_ARTICLE = "No article has this slug"
NOT_THE_AUTHOR = "Only the article's author may change it"

FILTER_ARGUMENTS = ("tag", "author", "favorited")


def find_own_article(slug: str, user, viewer: int | None):
    """The article at `slug` as `viewer` sees it; 403 unless `user` wrote it."""
    article = queries.find_article(slug, viewer)
    if article.author_id != user.id:
        raise ApiError(403, "only the author may change this article")
    return article


def filter_argument(name: str) -> str | None:
    return request.args.get(name, "").strip() or None


def page_of_articles(filters: queries.ArticleFilters, viewer) -> dict:
    limit, offset = page_arguments()
    rows, total = queries.list_articles(filters, viewer and viewer.id, limit, offset)
    return {
        "articles": [article_output(row, with_body=False) for row in rows],
        "articlesCount": total,
    }


@blueprint.get("/articles")
@documents(query=ArticleListQuery, output=page_envelope, auth=OPTIONAL_TOKEN)
@cached_for_anonymous
@accepts_viewer
def list_articles(viewer):
    """The newest articles, filtered by tag, author and who favorited them; paged."""
    filters = queries.ArticleFilters(**{name: filter_argument(name) for name in FILTER_ARGUMENTS})
    return page_of_articles(filters, viewer)


@blueprint.get("/articles/feed")
@documents(query=PageQuery, output=page_envelope, auth=TOKEN)
@requires_viewer
def list_feed(viewer):
    """The newest articles by the authors the viewer follows; paged."""
    return page_of_articles(queries.ArticleFilters(followed_by=viewer.id), viewer)


@blueprint.get("/articles/<slug>")
@documents(
    output=article_envelope,
    responses={404: NO_SUCH_ARTICLE, 422: SPEC_ONLY},
    auth=OPTIONAL_TOKEN,
)
@cached_for_anonymous
@accepts_viewer
def get_article(viewer, slug):
    """One article, body included, as the viewer sees it."""
    return {"article": article_output(queries.find_article(slug, viewer and viewer.id))}


@blueprint.post("/articles")
@documents(
    input=envelope("article", NewArticleInput), output=article_envelope, status=201, auth=TOKEN
)
@requires_user
def create_article(user):
    """Publish an article written by the current user."""
    fields = new_article_input.load(request_json("article"))
    created = new_article_output(services.create_article(user.id, **fields), fields["tags"], user)
    publish("article.created", {"article": as_anonymous(created)})
    db.session.commit()
    return {"article": created}, 201


@blueprint.put("/articles/<slug>")
@documents(
    input=envelope("article", ArticleUpdateInput),
    output=article_envelope,
    responses={403: NOT_THE_AUTHOR, 404: NO_SUCH_ARTICLE},
    auth=TOKEN,
)
@requires_user
def update_article(user, slug):
    """Change the current user's article; a new title gives a new slug."""
    seen = find_own_article(slug, user, user.id)
    changes = article_update_input.load(request_json("article"))
    article = services.update_article(seen.id, changes)
    updated = changed_article_output(seen, article, changes.get("tags"))
    publish("article.updated", {"article": as_anonymous(updated)})
    db.session.commit()
    return {"article": updated}


@blueprint.delete("/articles/<slug>")
@documents(
    status=204,
    responses={403: NOT_THE_AUTHOR, 404: NO_SUCH_ARTICLE, 422: SPEC_ONLY},
    auth=TOKEN,
)
@requires_user
def delete_article(user, slug):
    """Delete the current user's article, with its tags, comments and favorites."""
    deleted = find_own_article(slug, user, None)
    services.delete_article(deleted.id)
    publish("article.deleted", {"article": article_output(deleted)})
    db.session.commit()
    return no_content()


@blueprint.post("/articles/<slug>/favorite")
@documents(output=article_envelope, responses={404: NO_SUCH_ARTICLE, 422: SPEC_ONLY}, auth=TOKEN)
@requires_user
def favorite_article(user, slug):
    """Favorite an article; favoriting it again changes nothing."""
    seen = queries.find_article(slug, user.id)
    added = services.favorite_article(user.id, seen.id)
    db.session.commit()
    return {"article": with_favorite(seen, True, added)}


@blueprint.delete("/articles/<slug>/favorite")
@documents(output=article_envelope, responses={404: NO_SUCH_ARTICLE, 422: SPEC_ONLY}, auth=TOKEN)
@requires_user
def unfavorite_article(user, slug):
    """Stop favoriting an article; unfavoriting it again changes nothing."""
    seen = queries.find_article(slug, user.id)
    removed = services.unfavorite_article(user.id, seen.id)
    db.session.commit()
    return {"article": with_favorite(seen, False, -removed)}
