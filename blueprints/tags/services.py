"""Giving articles their tags, and keeping each tag's article count true in the same transaction.

Lock order: tag rows are locked by the `UPDATE ... articles_count` (primary-key order) before
any `article_tags` row is written, so the foreign-key checks of those inserts never upgrade a
shared lock that a concurrent transaction also holds (the classic InnoDB deadlock). Articles
lock their author's count row (a trigger) before any tag row, when created and when deleted.
"""

from collections.abc import Iterable

from sqlalchemy import case, delete, insert, select, update

from app.extensions import db
from app.transactions import write_in_savepoint

from .models import ArticleTag, Tag

tags = Tag.__table__
article_tags = ArticleTag.__table__


def unique_names(names: Iterable[str]) -> list[str]:
    """`names` without repeats, each at its first place."""
    return list(dict.fromkeys(names))


def _tag_ids(names: list[str]) -> dict[str, int]:
    """The id of each tag in `names`, creating the tags that do not exist yet."""
    found = dict(
        db.session.execute(select(tags.c.name, tags.c.id).where(tags.c.name.in_(names))).all()
    )
    for name in names:
        if name in found:
            continue
        tag = Tag(name=name, articles_count=0)
        if write_in_savepoint(lambda: db.session.add(tag)) is None:  # noqa: B023
            found[name] = tag.id
        else:
            # A concurrent request created it first; a locking read sees its committed row
            # where this transaction's snapshot would not.
            locked = select(tags.c.id).where(tags.c.name == name).with_for_update()
            found[name] = db.session.execute(locked).scalar_one()
    return found


def _recount(added: set[int], removed: set[int], kept: frozenset[int] = frozenset()) -> None:
    """+1 on the tags in `added`, -1 on those in `removed`, and those `kept` locked too (the
    article keeps carrying them): one UPDATE, rows locked in id order."""
    changed = sorted(added | removed | kept)
    if changed:
        delta = case((tags.c.id.in_(sorted(added)), 1), (tags.c.id.in_(sorted(kept)), 0), else_=-1)
        db.session.execute(
            update(tags)
            .where(tags.c.id.in_(changed))
            .values(articles_count=tags.c.articles_count + delta)
        )


def tag_article(article_id: int, names: list[str], replacing: list[str] | None = None) -> None:
    """Give the article the tags `names` in that order (repeats dropped), replacing the tags
    `replacing` it carries now (as last committed: the caller holds the article's row); the
    tags' article counts follow.
    """
    names = unique_names(names)
    old_ids = set(_tag_ids(replacing).values()) if replacing else set()
    ids = _tag_ids(names) if names else {}
    new_ids = set(ids.values())
    # Every tag row the new article_tags rows refer to is locked here, kept ones included:
    # their foreign key checks would otherwise take shared locks after this transaction holds
    # other tag rows, and two retags could each wait for the other.
    _recount(added=new_ids - old_ids, removed=old_ids - new_ids, kept=frozenset(new_ids & old_ids))
    if replacing is not None:
        db.session.execute(delete(article_tags).where(article_tags.c.article_id == article_id))
    if names:
        db.session.execute(
            insert(article_tags),
            [
                {"article_id": article_id, "tag_id": ids[name], "position": position}
                for position, name in enumerate(names)
            ],
        )


def release_tags(tag_ids: set[int]) -> None:
    """Count one article less on each of `tag_ids`, once the article that carried them is
    deleted (its `article_tags` rows go with it, by foreign key cascade).
    """
    _recount(added=set(), removed=tag_ids)
