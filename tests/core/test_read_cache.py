"""The read cache (app/cache.py): anonymous answers of hot reads from memory, never stale; ETags,
304s and Cache-Control on every GET. On a Redis of the run's (TEST_REDIS_URL), under a counter
key of each test's own, deleted at its end.
"""

import array
import fcntl
import os
import secrets
import socket
import termios
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from app.cache import ReadCache, bulk_string_reply, use_read_cache
from app.extensions import db
from blueprints.articles import queries
from tests.factories import make_article, make_user
from tests.helpers import auth_headers, counted_queries
from tests.polling import free_port, wait_until

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")


@pytest.fixture
def cache_key():
    key = f"test:read-cache:{secrets.token_hex(8)}"
    yield key
    import redis  # here: every pytest worker imports this module, and redis-py costs 80 ms

    redis.Redis.from_url(REDIS_URL).delete(key)


@pytest.fixture
def read_cache(app, cache_key):
    """The app's cached reads served from a cache of this test's own (entries kept for a
    minute, not a second: a loaded machine must not turn a hit into a miss)."""
    cache = ReadCache(REDIS_URL, cache_key, max_entries=100, max_age=60)
    use_read_cache(app, cache)
    yield cache
    use_read_cache(app, None)


def get(client, path: str, headers: dict | None = None):
    response = client.get(path, headers=headers or {})
    assert response.status_code == 200, response.get_json()
    return response


def test_anonymous_reads_come_from_memory_until_a_write_changes_them(client, read_cache):
    author, fan = make_user(bio="Before"), make_user()
    make_article(author, title="Cached", tags=["kept"])
    paths = [
        "/api/articles",
        "/api/articles/cached",
        "/api/tags",
        f"/api/profiles/{author.username}",
    ]

    first = {path: get(client, path) for path in paths}
    again = {path: get(client, path) for path in paths}

    for path in paths:
        assert first[path].headers["X-Cache"] == "miss"
        assert again[path].headers["X-Cache"] == "hit"
        assert again[path].get_data() == first[path].get_data()
        assert again[path].headers["ETag"] == first[path].headers["ETag"]

    favorited = client.post("/api/articles/cached/favorite", headers=auth_headers(fan))
    assert favorited.status_code == 200
    listed = get(client, "/api/articles")
    assert listed.headers["X-Cache"] == "miss"
    assert listed.get_json()["articles"][0]["favoritesCount"] == 1
    assert get(client, "/api/articles/cached").get_json()["article"]["favoritesCount"] == 1

    client.put("/api/user", json={"user": {"bio": "After"}}, headers=auth_headers(author))
    assert get(client, f"/api/profiles/{author.username}").get_json()["profile"]["bio"] == "After"
    assert get(client, "/api/articles").get_json()["articles"][0]["author"]["bio"] == "After"

    client.put(
        "/api/articles/cached",
        json={"article": {"tagList": ["fresh"]}},
        headers=auth_headers(author),
    )
    assert get(client, "/api/tags").get_json() == {"tags": ["fresh"]}


def test_a_hit_answers_with_the_headers_of_the_answer_it_repeats(client, read_cache):
    make_article(make_user(), title="Headed")
    path = "/api/articles/headed"

    first, again = get(client, path), get(client, path)
    unchanged = client.get(path, headers={"If-None-Match": again.headers["ETag"]})
    head = client.head(path)

    assert again.headers["X-Cache"] == "hit"
    for name in ("Content-Type", "Content-Length", "ETag", "Cache-Control", "Vary"):
        assert again.headers[name] == first.headers[name], name
    assert again.headers["X-Request-ID"] != first.headers["X-Request-ID"]
    assert unchanged.status_code == 304
    assert unchanged.get_data() == b""
    assert unchanged.headers["ETag"] == first.headers["ETag"]
    assert (head.status_code, head.headers["X-Cache"]) == (200, "hit")
    assert head.get_data() == b""
    assert head.headers["Content-Length"] == first.headers["Content-Length"]


def test_a_write_in_another_process_makes_every_process_read_again(client, read_cache, cache_key):
    make_article(make_user(), title="Shared")
    get(client, "/api/articles/shared")
    assert get(client, "/api/articles/shared").headers["X-Cache"] == "hit"

    # Another process's cache on the same counter, as after a write it served.
    ReadCache(REDIS_URL, cache_key, max_entries=1).bump()

    assert get(client, "/api/articles/shared").headers["X-Cache"] == "miss"


def test_a_counter_redis_cannot_read_bypasses_the_cache(client, read_cache, cache_key):
    import redis

    make_article(make_user(), title="Odd")
    counter = redis.Redis.from_url(REDIS_URL)
    counter.delete(cache_key)
    counter.lpush(cache_key, "not a counter")  # a GET of it answers WRONGTYPE

    assert get(client, "/api/articles/odd").headers["X-Cache"] == "bypass"


def unread_bytes(reader: socket.socket) -> int:
    count = array.array("i", [0])
    fcntl.ioctl(reader.fileno(), termios.FIONREAD, count)
    return count[0]


def test_the_counter_is_read_whole_when_its_reply_comes_in_pieces():
    ours, redis_side = socket.socketpair()
    with ours, redis_side, ThreadPoolExecutor(1) as pool:
        redis_side.sendall(b"$3\r\n12")
        reading = pool.submit(bulk_string_reply, ours)
        wait_until(lambda: unread_bytes(ours) == 0, 10, "the first piece to be read")
        redis_side.sendall(b"3\r\n")

        assert reading.result(timeout=10) == b"123"


def test_a_viewer_with_a_token_is_never_answered_from_the_cache(client, read_cache):
    author, viewer = make_user(), make_user()
    make_article(author, title="Personal", favorited_by=[viewer])
    get(client, "/api/articles/personal")
    get(client, "/api/articles/personal")

    seen = get(client, "/api/articles/personal", auth_headers(viewer))

    assert "X-Cache" not in seen.headers
    assert seen.get_json()["article"]["favorited"] is True


def test_without_redis_the_cache_is_bypassed_and_reads_stay_exact(app, client, cache_key):
    unreachable = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    use_read_cache(app, ReadCache(unreachable, cache_key, max_entries=100))
    try:
        author = make_user()
        make_article(author, title="Uncached")
        first = get(client, "/api/articles/uncached")
        client.put(
            "/api/articles/uncached",
            json={"article": {"description": "changed"}},
            headers=auth_headers(author),
        )
        second = get(client, "/api/articles/uncached")
    finally:
        use_read_cache(app, None)

    assert first.headers["X-Cache"] == second.headers["X-Cache"] == "bypass"
    assert second.get_json()["article"]["description"] == "changed"


def test_every_get_has_an_etag_and_answers_304_when_the_client_has_it(client):
    author = make_user()
    make_article(author, title="Tagged")
    headers = auth_headers(author)
    paths = [
        ("/api/articles", {}),
        ("/api/articles/tagged", headers),
        ("/api/articles/tagged/comments", {}),
        ("/api/user", headers),
        (f"/api/profiles/{author.username}", headers),
        ("/api/tags", {}),
    ]

    for path, path_headers in paths:
        response = get(client, path, path_headers)
        etag = response.headers["ETag"]
        unchanged = client.get(path, headers={**path_headers, "If-None-Match": etag})
        assert unchanged.status_code == 304, path
        assert unchanged.get_data() == b""
        assert unchanged.headers["ETag"] == etag
        other = client.get(path, headers={**path_headers, "If-None-Match": '"other"'})
        assert other.status_code == 200


def test_shared_caches_may_keep_only_anonymous_answers_and_must_revalidate(client):
    author = make_user()

    anonymous = get(client, f"/api/profiles/{author.username}")
    personal = get(client, f"/api/profiles/{author.username}", auth_headers(author))

    assert anonymous.headers["Cache-Control"] == "public, no-cache"
    assert personal.headers["Cache-Control"] == "private, no-cache"
    assert "Authorization" in anonymous.headers["Vary"]


def test_a_read_with_a_token_looks_the_viewer_up_once_per_generation(client, read_cache):
    author, viewer = make_user(), make_user()
    make_article(author, title="Seen", favorited_by=[viewer])
    headers = auth_headers(viewer)
    get(client, "/api/articles", headers)

    with counted_queries() as statements:
        seen = get(client, "/api/articles", headers)

    assert len([sql for sql in statements if not sql.startswith(("SAVEPOINT", "RELEASE"))]) == 1
    assert seen.get_json()["articles"][0]["favorited"] is True


def test_a_token_of_a_user_deleted_since_is_refused_at_once(client, read_cache):
    gone = make_user()
    headers = auth_headers(gone)
    get(client, "/api/articles", headers)
    get(client, "/api/articles/feed", headers)

    db.session.delete(gone)
    db.session.commit()

    for path in ("/api/articles", "/api/articles/feed", f"/api/profiles/{gone.username}"):
        refused = client.get(path, headers=headers)
        assert refused.status_code == 401, path
        assert refused.get_json() == {"errors": {"token": ["is invalid or expired"]}}


def test_a_token_revoked_by_a_password_change_is_refused_at_once(client, read_cache):
    user = make_user()
    old = auth_headers(user)
    get(client, "/api/articles", old)

    changed = client.put("/api/user", json={"user": {"password": "a-new-password"}}, headers=old)
    assert changed.status_code == 200

    refused = client.get("/api/articles", headers=old)
    assert refused.status_code == 401
    fresh = {"Authorization": f"Token {changed.get_json()['user']['token']}"}
    assert get(client, "/api/articles", fresh).status_code == 200


def counting(statements: list[str]) -> list[str]:
    """The statements that count articles (the page statement's total)."""
    return [sql for sql in statements if "count(" in sql.lower() or "sum(" in sql.lower()]


def test_a_list_total_is_remembered_until_a_write_changes_it(client, read_cache):
    author, fan = make_user(), make_user()
    make_article(author, title="First", tags=["kept"])
    headers = auth_headers(fan)  # a viewer's lists are not cached answers: only their totals
    paths = [
        "/api/articles",
        "/api/articles?tag=kept",
        f"/api/articles?author={author.username}",
        f"/api/articles?favorited={fan.username}",
        "/api/articles?offset=5",  # past the end: its total needs a statement of its own
    ]
    first = [get(client, path, headers).get_json()["articlesCount"] for path in paths]

    with counted_queries() as statements:
        again = [get(client, path, headers).get_json()["articlesCount"] for path in paths]
    created = client.post(
        "/api/articles",
        json={"article": {"title": "Second", "description": "d", "body": "b", "tagList": ["kept"]}},
        headers=auth_headers(author),
    )
    assert created.status_code == 201
    assert client.post("/api/articles/second/favorite", headers=headers).status_code == 200
    after = [get(client, path, headers).get_json()["articlesCount"] for path in paths]

    assert first == again == [1, 1, 1, 0, 1]
    assert counting(statements) == []
    assert after == [2, 2, 2, 1, 2]


def test_a_page_past_a_remembered_total_reads_no_article(client, read_cache):
    author, viewer = make_user(), make_user()
    make_article(author, tags=["kept"])
    headers = auth_headers(viewer)  # a viewer's lists are not cached answers: only their totals
    paths = ["/api/articles?offset=1", "/api/articles?tag=kept&offset=3"]
    first = [get(client, path, headers).get_json() for path in ("/api/articles", *paths)]

    with counted_queries() as statements:
        again = [get(client, path, headers).get_json() for path in paths]
    make_article(author, tags=["kept"])  # committed: a new generation, the totals read again
    after = [get(client, path, headers).get_json() for path in paths]

    assert first[0]["articlesCount"] == 1
    assert again == first[1:] == [{"articles": [], "articlesCount": 1}] * 2
    assert [sql for sql in statements if "articles" in sql.lower()] == []
    assert [answer["articlesCount"] for answer in after] == [2, 2]
    assert len(after[0]["articles"]) == 1


def test_a_deep_page_reads_from_a_remembered_position_and_lists_the_same_articles(
    client, read_cache, monkeypatch
):
    monkeypatch.setattr(queries, "POSITION_STRIDE", 3)
    author = make_user()
    noon = datetime(2026, 12, 4, 12, tzinfo=UTC)
    for number in range(10):  # two by two at one instant: the id orders them, across positions
        make_article(author, title=f"At {number}", created_at=noon + timedelta(seconds=number // 2))

    def slugs(path: str) -> list[str]:
        return [article["slug"] for article in get(client, path).get_json()["articles"]]

    def every_page(offsets) -> dict[tuple[int, int], list[str]]:
        return {
            (offset, limit): slugs(f"/api/articles?offset={offset}&limit={limit}")
            for offset in offsets
            for limit in (1, 2, 5)
        }

    newest_first = slugs("/api/articles?limit=100")  # also what the cache learns the total from
    with counted_queries() as statements:
        pages = every_page(range(12))
    make_article(author, title="Newest", created_at=noon + timedelta(minutes=1))
    newest_first_after = slugs("/api/articles?limit=100")
    with counted_queries() as statements_after:
        pages_after = every_page(reversed(range(12)))

    assert newest_first == [f"at-{number}" for number in (9, 8, 7, 6, 5, 4, 3, 2, 1, 0)]
    for (offset, limit), page in pages.items():
        assert page == newest_first[offset : offset + limit]
        assert pages_after[offset, limit] == newest_first_after[offset : offset + limit]
    # One statement a page (none past the end), and one for each position: offsets 3, 6, 9.
    assert len(statements) == 30 + 3
    assert len(statements_after) == 33 + 3
    # Found in order, each position is walked to from the one before it, not from the newest.
    walks = [sql for sql in statements if sql.startswith("SELECT articles.created_at, articles.id")]
    assert ["articles.id <=" in sql for sql in walks] == [False, True, True]


def test_the_feed_total_is_counted_on_every_read(client, read_cache):
    viewer, first, second = make_user(), make_user(), make_user()
    make_article(first)
    make_article(second)
    headers = auth_headers(viewer)
    client.post(f"/api/profiles/{first.username}/follow", headers=headers)
    assert get(client, "/api/articles/feed?limit=1", headers).get_json()["articlesCount"] == 1

    # A follow changes no anonymous answer, so not the cache's generation either.
    client.post(f"/api/profiles/{second.username}/follow", headers=headers)

    assert get(client, "/api/articles/feed?limit=1", headers).get_json()["articlesCount"] == 2


def test_a_request_reads_the_generation_once(client, read_cache, monkeypatch):
    make_article(make_user(), tags=["read"])
    headers = auth_headers(make_user())
    reads = []
    read_counter = read_cache._read_counter
    monkeypatch.setattr(read_cache, "_read_counter", lambda: reads.append(1) or read_counter())

    # The answer or the viewer, the total: each kept at one generation.
    get(client, "/api/articles?tag=read", {})
    get(client, "/api/articles?tag=read", headers)

    assert len(reads) == 2
