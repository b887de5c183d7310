"""Anonymous answers of the hottest reads, kept in each process's memory, never served stale;
ETags and 304s on every GET; Cache-Control for shared caches.

A cached answer carries the *generation* of the data it was computed from: a counter in Redis
(`READ_CACHE_REDIS_URL`) that every commit changing what an anonymous reader sees increments,
after the commit and before the writer gets its response. Each cached request reads the counter
(one Redis GET, about a tenth of a millisecond) and is answered from memory only when its entry
was computed at the current generation, so after a write every process, on every host, computes
the answer again: the writer sees its write on its next read, and so does everyone else.

What counts as such a write is decided where the writes happen, in the session: a flush or a
statement that touches a table anonymous answers are made of (CACHED_TABLES) marks the session,
and its commit bumps the generation. A write that forgot to publish an event still invalidates.

The same counter keeps other values a read needs, e.g. the viewer a token names
(`remembered`, blueprints/users/auth.py): a read with a token then costs no lookup of its own,
and a committed change to users reaches every process at once.

A request reads the counter once, when it first needs it (a commit of its own reads it anew):
what it computes after that read can only be newer than the generation it is kept under, never
older, so a value kept at a generation is never staler than that generation.

The counter is read on a connection of each thread's own, which redis-py opens (its handshake:
AUTH, SELECT, TLS, as the URL says); the GET, packed once, is sent and its reply read on the
socket itself: redis-py's pool, command and reply layers would cost several times the rest of
a cached request's reading (some 25,000 instructions; 4 µs of CPU), on every one.

Failures: when Redis cannot be reached, requests are answered from the database (the cache is
bypassed, not trusted) and the process drops its entries; Redis is tried again a second later.
As a backstop for a bump that failed while other processes could still reach Redis, an entry is
used for at most MAX_AGE_SECONDS.
"""

import logging
import os
import socket
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import wraps
from hashlib import blake2b
from typing import Any, TypeVar

from flask import Flask, Request, Response, current_app, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.datastructures import Headers
from werkzeug.http import quote_etag

from .extensions import db
from .sessions import READ_METHODS

log = logging.getLogger(__name__)

# Tables whose rows appear in anonymous answers of the cached reads (follows do not: an
# anonymous reader follows nobody; author_article_counts are written by triggers on articles).
CACHED_TABLES = frozenset({"articles", "users", "favorites", "tags", "article_tags"})
MAX_AGE_SECONDS = 1.0
RETRY_SECONDS = 1.0
REDIS_TIMEOUT_SECONDS = 0.25
BULK_REPLY_BYTES = 64  # "$20\r\n" and a 64-bit counter's 20 digits fit
_WROTE = "read_cache_wrote"
_GENERATION = "read_cache_generation"  # the request's reading of the counter
_UNREAD = object()
T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    generation: bytes
    stored_at: float
    body: bytes
    # Every header of a hit as werkzeug and conditional_get would set them, Content-Length
    # included, checked by werkzeug once, when the entry is kept.
    headers: tuple[tuple[str, str], ...]


class KeptResponse(Response):
    """A read cache hit: an entry's body and headers as they are. Headers built the usual way
    are checked again one by one (some 5,000 instructions each, 30,000 a hit); these were
    checked when the entry was kept, and those the hooks add are checked as they add them."""

    automatically_set_content_length = False  # the entry's headers have it
    conditional_ready = True  # and its ETag and Cache-Control (conditional_get)

    def __init__(self, entry: Entry) -> None:
        headers = Headers()
        headers._list = list(entry.headers)  # werkzeug's own storage: (name, value) pairs
        super().__init__(entry.body, headers=headers)

    def get_wsgi_headers(self, environ: dict) -> Headers:
        """The headers to send. werkzeug's own copies them all, checking each again (another
        5,000 instructions a header), to fix what a hit's 200 never needs fixed: a relative
        Location, a missing Content-Length; a 304's are still werkzeug's (no entity headers)."""
        if self.status_code != 200:
            return super().get_wsgi_headers(environ)
        return self.headers


class ReadCache:
    """One process's cached answers, checked against the generation counter in Redis."""

    def __init__(
        self, redis_url: str, key: str, max_entries: int, max_age: float = MAX_AGE_SECONDS
    ) -> None:
        # Imported here: redis-py costs some 80 ms of CPU on import (it loads its asyncio client
        # too), which processes without a read cache (most tests, commands) skip.
        import redis

        # What Redis failing looks like: redis-py's errors, and the socket's (a timeout).
        self.redis_errors = (redis.RedisError, OSError)
        self.redis = redis.Redis.from_url(
            redis_url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        self.key = key
        self.max_entries = max_entries
        self.max_age = max_age
        self.entries: OrderedDict[str, Entry] = OrderedDict()
        self.values: OrderedDict[Hashable, tuple[bytes, float, Any]] = OrderedDict()
        self.unreachable_until = 0.0
        # Stores and evictions of threads of one process (gthread workers, Celery threads).
        self.storing = threading.Lock()
        self.readers = threading.local()
        self.read_command = b"".join(
            self.redis.connection_pool.make_connection().pack_command("GET", key)
        )

    def _failed(self, doing: str, error: Exception) -> None:
        """Redis did not answer: trust nothing kept, and leave Redis alone for a moment."""
        if time.monotonic() >= self.unreachable_until:
            log.warning("read cache bypassed: Redis failed while %s: %s", doing, error)
        self.entries.clear()
        self.values.clear()
        self.unreachable_until = time.monotonic() + RETRY_SECONDS

    def generation(self) -> bytes | None:
        """The current generation, read once per request; None when Redis cannot tell (then
        nothing is cached)."""
        if not has_request_context():
            return self._current_generation()
        served = request._get_current_object()
        generation = getattr(served, _GENERATION, _UNREAD)
        if generation is _UNREAD:
            generation = self._current_generation()
            setattr(served, _GENERATION, generation)
        return generation

    def _current_generation(self) -> bytes | None:
        if time.monotonic() < self.unreachable_until:
            return None
        try:
            return self._read_counter() or b"0"
        except self.redis_errors as error:
            self._failed("reading the generation", error)
            return None

    def _read_counter(self) -> bytes | None:
        """GET of the counter on this thread's connection (a new one after a fork)."""
        connection = getattr(self.readers, "connection", None)
        if connection is None or connection.pid != os.getpid():
            connection = self.readers.connection = self.redis.connection_pool.make_connection()
        if not connection.is_connected:
            connection.connect()
        try:
            connection._sock.sendall(self.read_command)
            return bulk_string_reply(connection._sock)
        except BaseException:
            connection.disconnect()  # a reply may be left unread: never reuse the socket
            raise

    def bump(self) -> None:
        """Make every process's entries out of date: the data behind them changed."""
        self.entries.clear()
        self.values.clear()
        try:
            self.redis.incr(self.key)
        except self.redis_errors as error:
            self._failed("bumping the generation", error)

    def answer(self, key: str, compute: Callable[[], Response]) -> Response:
        """The answer for `key`: from memory when computed at the current generation, else
        from `compute()` (kept when it is a 200)."""
        generation = self._current_generation()
        if generation is None:
            setattr(request._get_current_object(), _GENERATION, generation)
            response = compute()
            response.headers["X-Cache"] = "bypass"
            return response
        entry = self.entries.get(key)
        now = time.monotonic()
        if (
            entry is not None
            and entry.generation == generation
            and now - entry.stored_at < self.max_age
        ):
            return KeptResponse(entry)
        # A hit needs no reading kept for the request.
        setattr(request._get_current_object(), _GENERATION, generation)
        response = compute()
        if response.status_code == 200 and not response.direct_passthrough:
            body = response.get_data()
            etag = body_etag(body)
            response.set_etag(etag)
            headers = Headers(
                (
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(body))),
                    ("ETag", quote_etag(etag)),
                    ("Cache-Control", cache_control(anonymous=True)),
                    ("Vary", "Authorization"),
                    ("X-Cache", "hit"),
                )
            )
            with self.storing:
                self.entries[key] = Entry(generation, now, body, tuple(headers))
                self.entries.move_to_end(key)
                if len(self.entries) > self.max_entries:
                    self.entries.popitem(last=False)
        response.headers["X-Cache"] = "miss"
        return response

    def value(self, key: Hashable, compute: Callable[[], T | None]) -> T | None:
        """`compute()`, remembered while the generation stays the same (at most
        MAX_AGE_SECONDS); computed every time when Redis cannot tell. None is not remembered."""
        value = self.known(key)
        if value is None:
            value = compute()
            self.keep(key, value)
        return value

    def known(self, key: Hashable) -> Any:
        """The value kept for `key` at the current generation, if any (else None)."""
        generation = self.generation()
        if generation is None:
            return None
        kept = self.values.get(key)
        if kept is not None and kept[0] == generation and time.monotonic() - kept[1] < self.max_age:
            return kept[2]
        return None

    def keep(self, key: Hashable, value: Any) -> None:
        """Keep `value` for `key` at the request's generation (read before `value` was
        computed); nothing when Redis cannot tell or `value` is None."""
        generation = self.generation()
        if generation is None or value is None:
            return
        with self.storing:
            self.values[key] = (generation, time.monotonic(), value)
            self.values.move_to_end(key)
            if len(self.values) > self.max_entries:
                self.values.popitem(last=False)


def bulk_string_reply(reader: socket.socket) -> bytes | None:
    """The reply to a GET, read from `reader` (RESP2 or RESP3): the value, or None when the key
    does not exist. An error reply (-LOADING, -NOAUTH, ...), anything else, a closed socket, or
    a reply still incomplete after REDIS_TIMEOUT_SECONDS raise an OSError (each read has the
    socket's own timeout too)."""
    deadline = time.monotonic() + REDIS_TIMEOUT_SECONDS
    reply = reader.recv(BULK_REPLY_BYTES)
    while True:
        if reply in (b"$-1\r\n", b"_\r\n"):
            return None
        head, separator, rest = reply.partition(b"\r\n")
        if separator:
            if not (head.startswith(b"$") and head[1:].isdigit()):
                raise ConnectionError(f"Redis answered {head.decode('utf-8', 'replace')}")
            length = int(head[1:])
            if len(rest) >= length + 2:
                return rest[:length]
        if time.monotonic() >= deadline:
            raise TimeoutError("Redis did not finish its reply in time")
        more = reader.recv(BULK_REPLY_BYTES)  # a reply that came in pieces
        if not more:
            raise ConnectionError("Redis closed the connection")
        reply += more


def remembered(key: Hashable, compute: Callable[[], T | None]) -> T | None:
    """`compute()`, from the read cache when one is configured (see ReadCache.value)."""
    cache: ReadCache | None = current_app.extensions.get("read_cache")
    return compute() if cache is None else cache.value(key, compute)


def known(key: Hashable) -> Any:
    """The value the read cache keeps for `key` at the current generation; None without one
    (see ReadCache.known)."""
    cache: ReadCache | None = current_app.extensions.get("read_cache")
    return None if cache is None else cache.known(key)


def keep(key: Hashable, value: Any) -> None:
    """Keep `value` for `key` in the read cache, when one is configured (see ReadCache.keep)."""
    cache: ReadCache | None = current_app.extensions.get("read_cache")
    if cache is not None:
        cache.keep(key, value)


def body_etag(body: bytes) -> str:
    """A strong ETag for a response body."""
    return blake2b(body, digest_size=12).hexdigest()


def _anonymous(served: Request) -> bool:
    return not served.headers.get("Authorization", "").strip()


def cached_for_anonymous(api_function):
    """Answer anonymous GETs of this view from the read cache (when one is configured)."""

    @wraps(api_function)
    def decorated_cached_for_anonymous_function(*args, **kwargs):
        app = current_app._get_current_object()
        cache: ReadCache | None = app.extensions.get("read_cache")
        served = request._get_current_object()
        if cache is None or served.method not in READ_METHODS or not _anonymous(served):
            return api_function(*args, **kwargs)
        return cache.answer(
            served.full_path, lambda: app.make_response(api_function(*args, **kwargs))
        )

    return decorated_cached_for_anonymous_function


def _touches_cached_tables(session: Session, flush_context) -> None:
    for instance in (*session.new, *session.dirty, *session.deleted):
        if getattr(instance, "__tablename__", None) in CACHED_TABLES:
            session.info[_WROTE] = True
            return


def _statement_touches_cached_tables(orm_execute_state) -> None:
    if orm_execute_state.is_insert or orm_execute_state.is_update or orm_execute_state.is_delete:
        table = getattr(orm_execute_state.statement, "table", None)
        if getattr(table, "name", None) in CACHED_TABLES:
            orm_execute_state.session.info[_WROTE] = True


def _after_commit(session: Session) -> None:
    if session.info.pop(_WROTE, False):
        cache = current_app.extensions.get("read_cache") if current_app else None
        if cache is not None:
            cache.bump()
            if has_request_context():  # what the request reads next is newer than its reading
                setattr(request._get_current_object(), _GENERATION, _UNREAD)


def _after_soft_rollback(session: Session, previous_transaction) -> None:
    # A rolled-back savepoint may have written nothing: bumping anyway is harmless.
    if not previous_transaction.nested:
        session.info.pop(_WROTE, None)


def cache_control(anonymous: bool) -> str:
    """The Cache-Control of a GET answer: shared caches may keep anonymous answers (unless
    each caller needs a client key), revalidated on each use."""
    shared = anonymous and not current_app.config["CLIENT_KEY_REQUIRED"]
    return ("public" if shared else "private") + ", no-cache"


def conditional_get(response: Response) -> Response:
    """Every GET answer gets an ETag (a 304 when the client has it) and a Cache-Control that
    lets shared caches keep anonymous answers, revalidated on each use: any write may change
    them, so no answer is fresh for a fixed time."""
    served = request._get_current_object()
    if served.method not in READ_METHODS or response.status_code != 200:
        return response
    if response.direct_passthrough:  # a file: werkzeug's send_file made it conditional
        return response
    if not getattr(response, "conditional_ready", False):  # a read cache hit has them
        if response.get_etag()[0] is None:
            response.set_etag(body_etag(response.get_data()))
        if "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = cache_control(_anonymous(served))
            response.vary.add("Authorization")
    if "If-None-Match" in served.headers:
        return response.make_conditional(served)
    return response


def init_read_cache(app: Flask) -> None:
    """ETags on every GET; the read cache when READ_CACHE_REDIS_URL is set."""
    app.after_request(conditional_get)
    url = app.config["READ_CACHE_REDIS_URL"]
    if url:
        # One counter per database: deployments sharing a Redis never invalidate each other.
        database = zlib.crc32(app.config["SQLALCHEMY_DATABASE_URI"].encode())
        cache = ReadCache(url, f"conduit:read-cache:{database}", app.config["READ_CACHE_ENTRIES"])
        use_read_cache(app, cache)


def use_read_cache(app: Flask, cache: ReadCache | None) -> None:
    """Serve `app`'s cached reads from `cache` (None: from the database only)."""
    if cache is None:
        app.extensions.pop("read_cache", None)
        return
    app.extensions["read_cache"] = cache
    session = db.session
    if not event.contains(session, "after_commit", _after_commit):
        event.listen(session, "after_flush", _touches_cached_tables)
        event.listen(session, "do_orm_execute", _statement_touches_cached_tables)
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_soft_rollback", _after_soft_rollback)
