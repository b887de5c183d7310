"""Seed a benchmark database: users, articles with 2-4 tags, follows, favorites.

The schema comes from the migrations (`manage.py db upgrade`); rows go in by bulk Core inserts
into the models' tables (one multi-row INSERT per chunk), not through the API, so 10,000
articles take seconds. The data is random with a fixed seed: every run seeds the same rows.
"""

import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, func, inspect, select
from sqlalchemy.pool import NullPool
from sqlalchemy_utils import database_exists, drop_database

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RANDOM_SEED = 20240601
TAG_COUNT = 100
FOLLOWS = 20  # per user
FAVORITES_PER_USER = (0, 60)
CHUNK = 5000
VIEWER_ID = 1
BODY = (
    "It is a truth universally acknowledged, that a single service in possession of a good "
    "schema, must be in want of an index. "
) * 8


@dataclass
class SeedFacts:
    """What the bench needs from the seeded database, counted back from it by SQL."""

    users: int
    articles: int
    tags: int
    article_tags: int
    follows: int
    favorites: int
    tag: str
    tag_articles: int
    feed_articles: int
    slug: str
    viewer_token: str
    seconds: float

    def summary(self) -> str:
        return (
            f"database: {self.users} users, {self.articles} articles, {self.tags} tags"
            f" ({self.article_tags} article tags), {self.follows} follows,"
            f" {self.favorites} favorites"
            + (f"; seeded in {self.seconds:.1f} s" if self.seconds else "; reused")
            + f"\nviewer: user {VIEWER_ID}, feed of {self.feed_articles} articles;"
            f" tag {self.tag!r} on {self.tag_articles} articles; slug {self.slug!r}"
        )


# What production requires besides the database and SECRET_KEY (bench/api.py passes them too).
PRODUCTION_SECRETS = {
    "WEBHOOK_SECRET_KEYS": Fernet.generate_key().decode(),
    # Never contacted: the benchmarks' requests are reads, which no rate limit counts.
    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/6",
}


def manage(database_url: str, secret_key: str, *arguments: str) -> None:
    """Run `manage.py ARGUMENTS` under the production config on `database_url`."""
    environment = {
        **os.environ,
        "CONDUIT_CONFIG": "production",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secret_key,
        # Production refuses a broker of one host; these benchmarks send no task.
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/8"),
        **PRODUCTION_SECRETS,
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [sys.executable, "manage.py", *arguments], cwd=PROJECT_ROOT, env=environment, check=True
    )


def insert_chunks(connection, table, rows: list[dict]) -> None:
    for start in range(0, len(rows), CHUNK):
        connection.execute(table.insert(), rows[start : start + CHUNK])


def weighted_distinct(rng: random.Random, population: list, weights: list, count: int) -> list:
    """`count` distinct items drawn with `weights` (popular tags stay popular)."""
    chosen: list = []
    while len(chosen) < count:
        item = rng.choices(population, weights)[0]
        if item not in chosen:
            chosen.append(item)
    return chosen


def generate_and_insert(connection, users: int, articles: int) -> None:
    from blueprints.articles.models import Article, Favorite
    from blueprints.profiles.models import Follow
    from blueprints.tags.models import ArticleTag, Tag
    from blueprints.users.identity import username_key
    from blueprints.users.models import User

    rng = random.Random(RANDOM_SEED)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    user_ids = list(range(1, users + 1))
    # One hash for everyone: nobody logs in, the viewer gets a token signed with the key.
    password_hash = PasswordHasher().hash("bench-password")
    insert_chunks(
        connection,
        User.__table__,
        [
            {
                "id": user_id,
                "username": f"user{user_id}",
                "username_key": username_key(f"user{user_id}"),
                "email": f"user{user_id}@example.com",
                "password_hash": password_hash,
                "bio": f"I am user {user_id}.",
                "image": "",
                "created_at": start,
                "updated_at": start,
            }
            for user_id in user_ids
        ],
    )
    insert_chunks(
        connection,
        Follow.__table__,
        [
            {"follower_id": follower, "followed_id": followed, "created_at": start}
            for follower in user_ids
            for followed in rng.sample(user_ids[: follower - 1] + user_ids[follower:], FOLLOWS)
        ],
    )

    article_rows, article_tag_rows = [], []
    favorite_rows = [
        {"user_id": user_id, "article_id": article_id, "created_at": start}
        for user_id in user_ids
        for article_id in rng.sample(range(1, articles + 1), rng.randint(*FAVORITES_PER_USER))
    ]
    favorites_count = Counter(row["article_id"] for row in favorite_rows)
    tag_names = [f"tag{number:02d}" for number in range(TAG_COUNT)]
    tag_weights = [1 / (rank + 1) ** 0.8 for rank in range(TAG_COUNT)]
    tag_usage: Counter = Counter()
    for article_id in range(1, articles + 1):
        # Distinct timestamps, a few minutes apart, in random order of authors.
        created = start + timedelta(minutes=5 * article_id, microseconds=rng.randrange(10**6))
        article_rows.append(
            {
                "id": article_id,
                "slug": f"article-number-{article_id}",
                "title": f"Article number {article_id}",
                "description": f"What article {article_id} is about",
                "body": BODY,
                "author_id": rng.choice(user_ids),
                "created_at": created,
                "updated_at": created,
            }
        )
        tags = weighted_distinct(rng, range(TAG_COUNT), tag_weights, rng.randint(2, 4))
        # What the articles service keeps on each article (a bulk load bypasses it).
        article_rows[-1]["favorites_count"] = favorites_count[article_id]
        article_rows[-1]["tag_list"] = json.dumps(sorted(tag_names[tag] for tag in tags))
        for position, tag in enumerate(tags):
            article_tag_rows.append(
                {
                    "article_id": article_id,
                    "tag_id": tag + 1,
                    "position": position,
                    "article_created_at": created,
                }
            )
            tag_usage[tag] += 1
    insert_chunks(
        connection,
        Tag.__table__,
        [
            {"id": number + 1, "name": name, "articles_count": tag_usage[number]}
            for number, name in enumerate(tag_names)
        ],
    )
    insert_chunks(connection, Article.__table__, article_rows)
    insert_chunks(connection, ArticleTag.__table__, article_tag_rows)

    insert_chunks(connection, Favorite.__table__, favorite_rows)


def analyze(engine) -> None:
    """Refresh the optimizer's statistics after the bulk load, as a live database has them;
    otherwise the first minutes of a run may use plans made for empty tables."""
    if engine.dialect.name not in {"mysql", "mariadb"}:
        return
    with engine.connect() as connection:
        tables = inspect(connection).get_table_names()
        connection.exec_driver_sql("ANALYZE TABLE " + ", ".join(f"`{name}`" for name in tables))


def count_facts(connection) -> dict:
    """Counts and the bench's choices, read back from the database."""
    from blueprints.articles.models import Article, Favorite
    from blueprints.profiles.models import Follow
    from blueprints.tags.models import ArticleTag, Tag
    from blueprints.users.models import User

    def count(table, *conditions) -> int:
        return connection.scalar(select(func.count()).select_from(table).where(*conditions))

    popular = connection.execute(
        select(Tag.name, func.count())
        .join(ArticleTag, ArticleTag.tag_id == Tag.id)
        .group_by(Tag.id, Tag.name)
        .order_by(func.count().desc(), Tag.name)
        .limit(1)
    ).one()
    followed = select(Follow.followed_id).where(Follow.follower_id == VIEWER_ID)
    return {
        "users": count(User),
        "articles": count(Article),
        "tags": count(Tag),
        "article_tags": count(ArticleTag),
        "follows": count(Follow),
        "favorites": count(Favorite),
        "tag": popular[0],
        "tag_articles": popular[1],
        "feed_articles": count(Article, Article.author_id.in_(followed)),
        "slug": connection.scalar(select(Article.slug).order_by(Article.created_at.desc())),
    }


def production_app(database_url: str, secret_key: str):
    """The service as gunicorn builds it; building it also imports every service's models."""
    os.environ.update(
        {"DATABASE_URL": database_url, "SECRET_KEY": secret_key, **PRODUCTION_SECRETS}
    )
    # Production refuses a broker of one host; the seed sends no task.
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/8")
    from app import create_app

    return create_app("production")


def seed_database(
    database_url: str, secret_key: str, users: int, articles: int, reseed: bool = True
) -> SeedFacts:
    """Rebuild the database from the migrations and fill it (unless `reseed` is False)."""
    started = time.perf_counter()
    app = production_app(database_url, secret_key)
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        if reseed:
            if database_exists(engine.url):
                drop_database(engine.url)
            manage(database_url, secret_key, "db", "create")
            manage(database_url, secret_key, "db", "upgrade")
            with engine.begin() as connection:
                generate_and_insert(connection, users, articles)
            analyze(engine)
        seconds = time.perf_counter() - started if reseed else 0.0
        with engine.connect() as connection:
            facts = count_facts(connection)
    finally:
        engine.dispose()
    if reseed and (facts["articles"], facts["users"]) != (articles, users):
        raise SystemExit(f"bench: seeded {facts['articles']} articles, {facts['users']} users")
    from app.security import issue_token

    with app.app_context():
        token = issue_token(VIEWER_ID)
    return SeedFacts(**facts, viewer_token=token, seconds=seconds)
