"""articlesCount is exact however the articles are written: the per-author counts behind the
totals of the whole list, of an author's and of the feed are kept by database triggers
(migration 0004)."""

from sqlalchemy import delete, func, insert, select, update

from app.extensions import db
from app.types import utcnow
from blueprints.articles.models import Article, AuthorArticleCount
from blueprints.users.models import User
from tests.factories import make_article, make_user
from tests.helpers import auth_headers


def listed_total(client) -> int:
    return client.get("/api/articles").get_json()["articlesCount"]


def counted(author=None) -> int:
    query = select(func.count()).select_from(Article)
    if author is not None:
        query = query.where(Article.author_id == author.id)
    return db.session.scalar(query)


def author_count(author) -> int | None:
    return db.session.scalar(
        select(AuthorArticleCount.articles).where(AuthorArticleCount.author_id == author.id)
    )


def test_the_total_follows_articles_created_and_deleted_through_the_api(client):
    author = make_user()
    for title in ("One", "Two", "Three"):
        make_article(author, title=title)

    client.delete("/api/articles/two", headers=auth_headers(author))

    assert listed_total(client) == counted() == 2
    assert author_count(author) == 2


def test_the_totals_follow_articles_written_around_the_api(client):
    author, other, reader = make_user(), make_user(), make_user()
    make_article(author, title="Through the API")
    now = utcnow()
    db.session.execute(
        insert(Article),
        [
            {
                "slug": f"bulk-{number}",
                "title": "Bulk",
                "description": "d",
                "body": "b",
                "author_id": author.id,
                "created_at": now,
                "updated_at": now,
            }
            for number in range(3)
        ],
    )
    db.session.execute(delete(Article).where(Article.slug == "bulk-0"))
    db.session.execute(update(Article).where(Article.slug == "bulk-1").values(author_id=other.id))
    db.session.commit()

    headers = auth_headers(reader)
    for followed in (author, other):
        client.post(f"/api/profiles/{followed.username}/follow", headers=headers)
    by_author = client.get(f"/api/articles?author={author.username}").get_json()
    feed = client.get("/api/articles/feed", headers=headers).get_json()

    assert listed_total(client) == counted() == 3
    assert (author_count(author), author_count(other)) == (2, 1)
    assert by_author["articlesCount"] == counted(author) == 2
    assert feed["articlesCount"] == 3


def test_a_deleted_user_takes_their_articles_out_of_the_total(client):
    leaving, staying = make_user(), make_user()
    make_article(leaving)
    make_article(leaving)
    make_article(staying)

    db.session.execute(delete(User).where(User.id == leaving.id))
    db.session.commit()

    assert listed_total(client) == counted() == 1


def test_the_total_of_an_empty_site_is_zero(client):
    assert client.get("/api/articles").get_json() == {"articles": [], "articlesCount": 0}
