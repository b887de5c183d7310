"""Factories: rows a test needs, created through the services' own code and committed."""

from itertools import count

from sqlalchemy import inspect

from app.extensions import db
from blueprints.articles.models import Article
from blueprints.articles.services import create_article, favorite_article
from blueprints.comments.models import Comment
from blueprints.users.models import User
from blueprints.users.services import register_user

DEFAULT_PASSWORD = "correct horse battery staple"
_sequence = count(1)


def key_of(row) -> int:
    """The primary key of a saved `row`, without the SELECT that reading `row.id` runs once a
    commit has expired it (each factory commits)."""
    identity = inspect(row).identity
    return identity[0] if identity else row.id


def make_user(username: str | None = None, email: str | None = None, **fields) -> User:
    """A registered user (password DEFAULT_PASSWORD unless given), committed."""
    number = next(_sequence)
    username = username or f"user{number}"
    user = register_user(
        username=username,
        email=email or f"{username}@example.com",
        password=fields.pop("password", DEFAULT_PASSWORD),
    )
    for field, value in fields.items():
        setattr(user, field, value)
    db.session.commit()
    return user


def make_article(author: User, **fields) -> Article:
    """An article by `author`, committed; any field may be given (`tags` a list of names,
    `created_at` to place it in time), the rest is made up. `favorited_by` users favorite it.
    """
    number = next(_sequence)
    favorited_by = fields.pop("favorited_by", ())
    created_at = fields.pop("created_at", None)
    # Given at creation: the article's tags keep its created_at (the tag pages' order).
    times = {} if created_at is None else {"created_at": created_at, "updated_at": created_at}
    article = create_article(
        key_of(author),
        tags=fields.pop("tags", []),
        title=fields.pop("title", f"Article {number}"),
        description=fields.pop("description", f"About article {number}"),
        body=fields.pop("body", f"The body of article {number}."),
        **times,
    )
    for field, value in fields.items():
        setattr(article, field, value)
    for user in favorited_by:
        favorite_article(key_of(user), article.id)
    db.session.commit()
    return article


def make_comment(article: Article, author: User, body: str | None = None, **fields) -> Comment:
    """A comment by `author` on `article`, committed."""
    comment = Comment(
        article_id=key_of(article),
        author_id=key_of(author),
        body=body or f"Comment {next(_sequence)}",
        **fields,
    )
    db.session.add(comment)
    db.session.commit()
    return comment
