"""The tags in use, most used first."""

from tests.factories import make_article, make_user
from tests.helpers import auth_headers, counted_queries


def test_tags_in_use_are_listed_once_most_used_first_ties_by_name(client):
    author = make_user()
    make_article(author, tags=["python", "flask", "web"])
    make_article(author, tags=["python", "web"])
    make_article(author, tags=["python", "apis"])

    response = client.get("/api/tags")

    assert response.status_code == 200
    assert response.get_json() == {"tags": ["python", "web", "apis", "flask"]}


def test_no_articles_no_tags(client):
    assert client.get("/api/tags").get_json() == {"tags": []}


def test_tags_are_exact_strings(client):
    make_article(make_user(), tags=["Python", "python", "pythön"])

    assert sorted(client.get("/api/tags").get_json()["tags"]) == ["Python", "python", "pythön"]


def test_tags_follow_changed_and_deleted_articles(client):
    author = make_user()
    make_article(author, title="Kept", tags=["shared", "kept"])
    make_article(author, title="Changed", tags=["shared", "dropped"])
    make_article(author, title="Deleted", tags=["shared", "doomed"])
    headers = auth_headers(author)

    client.put("/api/articles/changed", json={"article": {"tagList": ["new"]}}, headers=headers)
    client.delete("/api/articles/deleted", headers=headers)

    assert client.get("/api/tags").get_json() == {"tags": ["kept", "new", "shared"]}


def test_a_tag_used_again_after_it_fell_out_of_use_comes_back(client):
    author = make_user()
    make_article(author, title="Gone", tags=["phoenix"])
    client.delete("/api/articles/gone", headers=auth_headers(author))

    make_article(author, title="Back", tags=["phoenix"])

    assert client.get("/api/tags").get_json() == {"tags": ["phoenix"]}


def test_the_tag_list_is_one_statement_for_any_number_of_tags(client):
    author = make_user()
    counts = {}
    for size in (1, 20, 100):
        for start in range(0, size, 20):
            # The tags in use grow to exactly `size` (20 tags an article at most).
            names = [f"tag{number}" for number in range(start, min(start + 20, size))]
            make_article(author, tags=names)
        with counted_queries() as statements:
            response = client.get("/api/tags")
        assert len(response.get_json()["tags"]) == size
        # The test's savepoints are not the endpoint's work.
        counts[size] = len([sql for sql in statements if not sql.startswith("SAVEPOINT")])

    assert counts == {1: 1, 20: 1, 100: 1}
