"""Reading tags: the tags in use, and the tags of an article."""

from sqlalchemy import select

from app.extensions import db

from .models import ArticleTag, Tag

tags = Tag.__table__
article_tags = ArticleTag.__table__


def popular_tag_names() -> list[str]:
    """The names of the tags in use, most used first, ties by name: one statement."""
    query = (
        select(tags.c.name)
        .where(tags.c.articles_count > 0)
        .order_by(tags.c.articles_count.desc(), tags.c.name)
    )
    return list(db.session.execute(query).scalars())


def article_tag_names(article_id: int) -> list[str]:
    """The names of the tags `article_id` carries."""
    query = (
        select(tags.c.name)
        .join(article_tags, article_tags.c.tag_id == tags.c.id)
        .where(article_tags.c.article_id == article_id)
    )
    return list(db.session.scalars(query))
