"""Giving articles their tags, and keeping each tag's article count true in the same transaction.

Lock order, so that concurrent writers cannot deadlock: an article's own row first (with its
author's count row, which a trigger changes), then every tag the change touches, in name order,
taken by one upsert that creates the missing tags and moves the counts (`_count_articles`).
An upsert locks a tag row exclusively at once, created or found: no shared lock is taken and
later upgraded (the deadlock of two writers that both found a new tag taken by a third), and
the `article_tags` foreign-key checks that follow only read rows this transaction holds.
"""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects import mysql, sqlite

from app.extensions import db

from .models import ArticleTag, Tag

tags = Tag.__table__
article_tags = ArticleTag.__table__


def unique_names(names: Iterable[str]) -> list[str]:
    """`names` without repeats, sorted by name: the order every answer shows an article's tags
    in, whatever order they were given in."""
    return sorted(set(names))


def _count_articles(deltas: dict[str, int]) -> None:
    """Add `deltas[name]` to each named tag's article count, creating the tags that do not
    exist yet: one statement, its rows in name order (the order every writer locks tags in).
    """
    if not deltas:
        return
    rows = [{"name": name, "articles_count": deltas[name]} for name in sorted(deltas)]
    dialect = db.session.get_bind().dialect.name
    if dialect in ("mysql", "mariadb"):
        upsert = mysql.insert(tags).values(rows)
        upsert = upsert.on_duplicate_key_update(
            articles_count=tags.c.articles_count + upsert.inserted.articles_count
        )
    else:
        if dialect == "sqlite":
            dialect_insert = sqlite.insert
        else:
            # Imported here: the PostgreSQL dialect costs some 70 ms of CPU to import.
            from sqlalchemy.dialects import postgresql

            dialect_insert = postgresql.insert
        upsert = dialect_insert(tags).values(rows)
        upsert = upsert.on_conflict_do_update(
            index_elements=[tags.c.name],
            set_={"articles_count": tags.c.articles_count + upsert.excluded.articles_count},
        )
    db.session.execute(upsert)


def tag_article(
    article_id: int, created_at: datetime, names: list[str], replacing: list[str] | None = None
) -> None:
    """Give the article (created at `created_at`) the tags `names` (as unique_names gives
    them), replacing the tags `replacing` it carries now (as last committed: the caller holds
    the article's row); the tags' article counts follow.
    """
    old_names = set(replacing) if replacing else set()
    # Kept tags are locked too (a change of 0): the foreign-key checks below then wait for
    # no other writer, whatever it holds.
    deltas = {name: 0 if name in old_names else 1 for name in names}
    deltas.update({name: -1 for name in old_names - set(names)})
    _count_articles(deltas)
    if replacing is not None:
        db.session.execute(delete(article_tags).where(article_tags.c.article_id == article_id))
    if names:
        # A locking read: the rows this transaction just locked, seen as they are now (a tag
        # created by a writer that committed after this transaction's snapshot included).
        locked = select(tags.c.name, tags.c.id).where(tags.c.name.in_(names)).with_for_update()
        ids = dict(db.session.execute(locked).all())
        db.session.execute(
            insert(article_tags),
            [
                {
                    "article_id": article_id,
                    "tag_id": ids[name],
                    "position": position,
                    "article_created_at": created_at,
                }
                for position, name in enumerate(names)
            ],
        )


def release_tags(names: Iterable[str]) -> None:
    """Count one article less on each tag of `names`, once the article that carried them is
    deleted (its `article_tags` rows go with it, by foreign key cascade).
    """
    _count_articles({name: -1 for name in names})
