"""Writing articles: unique slugs that follow the title, races included; favorites."""

import json
import re
import secrets
from typing import Any

from slugify import slugify
from sqlalchemy import delete, insert, select, update

from app.errors import ApiError
from app.extensions import db
from app.transactions import write_in_savepoint
from app.types import utcnow
from blueprints.tags.queries import article_tag_names
from blueprints.tags.services import release_tags, tag_article, unique_names

from .models import Article, Favorite

SLUG_BASE_MAX_LENGTH = 200
FALLBACK_SLUG = "article"
SLUG_ATTEMPTS = 6
SUFFIX_BYTES = 4  # 8 hex digits: a second "Hello" becomes hello-1f2e3d4c


def slug_base(title: str) -> str:
    """The slug a title reads as: lowercase words joined by '-', letters of every script kept
    ("Zoë 日本語" gives "zoë-日本語"); "article" when the title has no letter or digit.
    """
    return (
        slugify(title, allow_unicode=True, max_length=SLUG_BASE_MAX_LENGTH, word_boundary=True)
        or FALLBACK_SLUG
    )


def _suffixed(base: str) -> str:
    return f"{base}-{secrets.token_hex(SUFFIX_BYTES)}"


def _derives_from(slug: str, base: str) -> bool:
    """Whether `slug` is `base`, or `base` with one of our suffixes."""
    return (
        slug == base
        or re.fullmatch(re.escape(base) + rf"-[0-9a-f]{{{2 * SUFFIX_BYTES}}}", slug) is not None
    )


def _slug_taken(slug: str, article_id: int | None) -> bool:
    """Whether another article has `slug`, committed by a concurrent request included: a
    locking read sees the latest rows, where this transaction's snapshot (REPEATABLE READ,
    taken at its first read) would not. A shared lock: the failed insert already holds one on
    that index entry, and every writer that lost the race to it does too; asking for an
    exclusive lock there would deadlock them all.
    """
    query = select(Article.id).where(Article.slug == slug)
    if article_id is not None:
        query = query.where(Article.id != article_id)
    return db.session.execute(query.limit(1).with_for_update(read=True)).first() is not None


def _save(article: Article, changes: dict[str, Any]) -> None:
    """Apply `changes` and flush in a savepoint; a new title gives a new unique slug.

    The unique index decides: when a concurrent request takes the slug first, this savepoint
    rolls back and the next candidate (a random suffix) is tried.
    """
    new_title = changes.get("title")
    base = slug_base(new_title) if new_title is not None else None
    keep_slug = base is None or (article.slug is not None and _derives_from(article.slug, base))

    def write() -> None:
        for field, value in changes.items():
            setattr(article, field, value)
        db.session.add(article)

    for attempt in range(SLUG_ATTEMPTS):
        if not keep_slug:
            changes["slug"] = base if attempt == 0 else _suffixed(base)
        clash = write_in_savepoint(write)
        if clash is None:
            return
        if keep_slug or not _slug_taken(changes["slug"], article.id):
            raise clash
    raise ApiError(422, "gives no free slug, please change it", field="title")


def tag_list(names: list[str]) -> str:
    """The article's `tag_list` column for its tags `names` (sorted): what pages show."""
    return json.dumps(names, ensure_ascii=False, separators=(",", ":"))


def create_article(author_id: int, tags: list[str], **fields: Any) -> Article:
    """A new article by `author_id` with a unique slug from its title, and its tags."""
    now = utcnow()
    tags = unique_names(tags)
    article = Article(author_id=author_id, created_at=now, updated_at=now, favorites_count=0)
    _save(article, {**fields, "tag_list": tag_list(tags)})
    tag_article(article.id, article.created_at, tags)
    return article


def update_article(article_id: int, changes: dict[str, Any]) -> Article:
    """Change the fields in `changes` (a new title moves the slug; `tags` replaces the tags)."""
    article = db.session.get_one(Article, article_id)
    changes = dict(changes)
    tags = changes.pop("tags", None)
    if tags is not None:
        # The article's row first, then its tags (as when creating or deleting one): the
        # foreign key checks of its new article_tags rows then need no lock on it of their own
        # that a concurrent favorite, waiting for the row, would deadlock with. Locked, its
        # tag_list is the latest one, which this request replaces.
        tags = unique_names(tags)
        locked = select(Article.tag_list).where(Article.id == article_id).with_for_update()
        replacing = json.loads(db.session.execute(locked).scalar_one())
        changes["tag_list"] = tag_list(tags)
    if changes:
        changes["updated_at"] = utcnow()
        _save(article, changes)
    if tags is not None:
        tag_article(article.id, article.created_at, tags, replacing=replacing)
    return article


def delete_article(article_id: int) -> None:
    """Delete the article; its tags, favorites and comments go with it."""
    tag_names = article_tag_names(article_id)
    # The article first, as when creating one: its author's count row (a trigger), then the
    # tags' rows, always in this order, so concurrent writes cannot deadlock.
    db.session.execute(delete(Article).where(Article.id == article_id))
    release_tags(tag_names)


def _count_favorites(article_id: int, delta: int) -> None:
    db.session.execute(
        update(Article)
        .where(Article.id == article_id)
        .values(favorites_count=Article.favorites_count + delta)
        .execution_options(synchronize_session=False)
    )


def favorite_article(user_id: int, article_id: int) -> int:
    """Record that the user favorites the article, counted on the article: 1 if it is new, 0
    if it was favorited.

    The article's row is locked first (its count +1), then the favorite inserted: inserting
    first would take a shared lock on the article (the foreign key check) that two concurrent
    favorites would then both try to upgrade, a deadlock.
    """
    if db.session.get(Favorite, (user_id, article_id)) is not None:
        return 0

    def write() -> None:
        _count_favorites(article_id, +1)
        db.session.execute(
            insert(Favorite).values(user_id=user_id, article_id=article_id, created_at=utcnow())
        )

    # A concurrent request that favorited first wins the primary key: the savepoint takes the
    # +1 back, and the result is the same, counted once, as the other request counts it.
    return 1 if write_in_savepoint(write) is None else 0


def unfavorite_article(user_id: int, article_id: int) -> int:
    """Forget that the user favorites the article, counted on the article: 1 if it was
    favorited, else 0."""
    # The article's row first, as favorite_article locks it: one lock order for both.
    db.session.execute(select(Article.id).where(Article.id == article_id).with_for_update())
    result = db.session.execute(
        delete(Favorite).where(Favorite.user_id == user_id, Favorite.article_id == article_id)
    )
    if result.rowcount:
        _count_favorites(article_id, -1)
    return result.rowcount
