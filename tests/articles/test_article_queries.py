"""Article lists run a fixed number of SQL statements whatever the page size and the viewer."""

from app.extensions import db
from blueprints.profiles.models import Follow
from tests.factories import key_of, make_article, make_user
from tests.helpers import auth_headers, counted_queries

PAGE_SIZES = (1, 20, 100)
MAX_STATEMENTS = 5


def statements_of(client, path: str, headers: dict) -> int:
    """How many statements serving `path` runs, as a fresh request would (nothing cached)."""
    db.session.expunge_all()
    with counted_queries() as statements:
        response = client.get(path, headers=headers)
    assert response.status_code == 200
    return len([sql for sql in statements if not sql.startswith(("SAVEPOINT", "RELEASE"))])


def seed(rows: int, tag: str, viewer) -> None:
    """`rows` articles tagged `tag`, each by its own author whom the viewer follows, every other
    one favorited by the viewer: each row needs its own lookups, and the viewer's feed has
    exactly these rows.
    """
    viewer_id = key_of(viewer)
    for number in range(rows):
        author = make_user()
        db.session.add(Follow(follower_id=viewer_id, followed_id=key_of(author)))
        fans = [viewer] if number % 2 else []
        make_article(author, tags=[tag, f"{tag}-{number}"], favorited_by=fans)


def test_article_lists_and_the_feed_run_the_same_few_statements_for_any_page_size(client):
    viewers = {size: make_user() for size in PAGE_SIZES}
    for size in PAGE_SIZES:
        seed(size, f"size{size}", viewers[size])
    db.session.commit()

    headers = {size: auth_headers(viewers[size]) for size in PAGE_SIZES}

    counts = {}
    for size in PAGE_SIZES:
        viewer = headers[size]
        counts[size] = (
            # All 121 articles, a page of `size` of them.
            statements_of(client, f"/api/articles?limit={size}", {}),
            statements_of(client, f"/api/articles?limit={size}", viewer),
            # Exactly `size` articles.
            statements_of(client, f"/api/articles?tag=size{size}&limit=100", {}),
            statements_of(client, f"/api/articles?tag=size{size}&limit=100", viewer),
            statements_of(client, "/api/articles/feed?limit=100", viewer),
        )

    assert counts[1] == counts[20] == counts[100]
    assert max(counts[1]) <= MAX_STATEMENTS
    # The page with its total, after the viewer's row when there is one.
    assert counts[1] == (1, 2, 1, 2, 2)
    feed = client.get("/api/articles/feed?limit=100", headers=headers[100]).get_json()
    assert len(feed["articles"]) == feed["articlesCount"] == 100


def test_one_article_is_read_in_the_same_statements_for_any_viewer(client):
    author, viewer = make_user(), make_user()
    make_article(author, title="Counted", tags=["a", "b", "c"], favorited_by=[viewer])

    headers = auth_headers(viewer)

    anonymous = statements_of(client, "/api/articles/counted", {})
    viewed = statements_of(client, "/api/articles/counted", headers)

    assert anonymous == 1
    assert viewed == 2  # the viewer's own row, then the same one


def test_a_page_past_the_end_counts_the_total_in_a_statement_of_its_own(client):
    make_article(make_user())

    statements = statements_of(client, "/api/articles?offset=5", {})

    assert statements == 2
    assert client.get("/api/articles?offset=5").get_json() == {"articles": [], "articlesCount": 1}
