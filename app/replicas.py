"""Read replicas with read-your-writes (DATABASE_REPLICA_URLS; nothing happens without it).

GET and HEAD requests read from a healthy MariaDB replica; every other request, its reads
included, and everything outside a request (Celery tasks, commands, migrations) uses the
primary. A user (or client key) who wrote reads their write: after a writing request commits,
the primary's GTID position is kept in Redis under that identity for a short window, and a
replica serves the identity's reads only once it has applied that position
(`MASTER_GTID_WAIT` with a tiny timeout), else the primary does.

A replica is skipped while it is down or lags more than DATABASE_REPLICA_MAX_LAG_SECONDS; each
process checks each replica at most once a second (`SHOW SLAVE STATUS`, on a connection of its
own, kept open, with short timeouts). With no healthy replica, the primary serves every read.
"""

import hashlib
import logging
import random
import threading
import time
from dataclasses import dataclass, field

from flask import Flask, g, has_request_context, request
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from .engines import prepare_pool
from .extensions import db
from .metrics import db_replica_lag
from .security import read_token
from .sessions import READ_METHODS

log = logging.getLogger(__name__)

HEALTH_CACHE_SECONDS = 1.0
PROBE_TIMEOUT_SECONDS = 2
# How long a replica may take to catch up with a reader's own write before the primary serves.
GTID_WAIT_SECONDS = 0.05
REDIS_TIMEOUT_SECONDS = 0.5
WRITE_KEY_PREFIX = "conduit:written:"


@dataclass
class Replica:
    """One replica: the engine requests read through, and its last known health."""

    name: str
    engine: Engine
    probe: Engine
    checked_at: float = float("-inf")
    healthy: bool = False
    lag_seconds: float | None = None
    reads_served: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def is_healthy(self, max_lag: float) -> bool:
        """Healthy as of a check at most HEALTH_CACHE_SECONDS old (checks now if older)."""
        with self.lock:
            if time.monotonic() - self.checked_at >= HEALTH_CACHE_SECONDS:
                self.check(max_lag)
            return self.healthy

    def check(self, max_lag: float) -> None:
        try:
            with self.probe.connect() as connection:
                status = connection.execute(text("SHOW SLAVE STATUS")).mappings().first()
        except SQLAlchemyError as error:
            self.record(False, None, f"unreachable: {error.__class__.__name__}")
            return
        lag = None if status is None else status["Seconds_Behind_Master"]
        # Both threads must run: a replica whose I/O thread is still (re)connecting to the
        # primary reports no lag once it has applied what it had, however much it missed.
        running = status is not None and (
            status["Slave_SQL_Running"] == status["Slave_IO_Running"] == "Yes"
        )
        if not running or lag is None:
            self.record(False, None, "not replicating")
        elif lag > max_lag:
            self.record(False, float(lag), f"{lag} s behind, more than {max_lag:g} s")
        else:
            self.record(True, float(lag), "")

    def record(self, healthy: bool, lag: float | None, reason: str) -> None:
        if healthy != self.healthy or self.checked_at == float("-inf"):
            if healthy:
                log.info("database replica %s is healthy (%s s behind)", self.name, lag)
            else:
                log.warning("database replica %s skipped: %s", self.name, reason)
        self.checked_at = time.monotonic()
        self.healthy = healthy
        self.lag_seconds = lag
        # Unknown lag (unreachable, not replicating) is infinite for the ConduitReplicaLag alert.
        db_replica_lag.labels(self.name).set(float("inf") if lag is None else lag)

    def read_failed(self, error: Exception) -> None:
        """The read this replica was chosen for could not reach it: not served here after all;
        skip the replica until the next check."""
        self.reads_served -= 1
        self.mark_down(error)

    def mark_down(self, error: Exception) -> None:
        """A connection just failed: skip this replica until the next check."""
        with self.lock:
            self.record(False, None, f"unreachable: {error.__class__.__name__}")


class ReplicaRouter:
    """Chooses the database of each request and remembers who wrote what (app.extensions)."""

    def __init__(self, app: Flask) -> None:
        config = app.config
        self.max_lag = config["DATABASE_REPLICA_MAX_LAG_SECONDS"]
        # Long enough for any replica still considered healthy to have applied the write.
        self.window_seconds = max(10, int(3 * self.max_lag))
        self.replicas = [
            replica_for(
                url,
                config["SQLALCHEMY_ENGINE_OPTIONS"],
                config["DATABASE_PING_AFTER_IDLE_SECONDS"],
            )
            for url in config["DATABASE_REPLICA_URLS"]
        ]
        # Imported here, as in app/cache.py: 80 ms of CPU that processes without replicas skip.
        import redis

        self.redis_errors = redis.RedisError
        self.redis = redis.Redis.from_url(
            config["REDIS_URL"],
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )

    def lag_seconds(self) -> dict[str, float | None]:
        """Each replica's lag at its last check (None: down or unknown); for metrics."""
        return {replica.name: replica.lag_seconds for replica in self.replicas}

    def choose(self, identities: list[str]) -> Replica | None:
        """A healthy replica that has applied the identities' recent writes, else None."""
        candidates = [r for r in self.replicas if r.is_healthy(self.max_lag)]
        if not candidates:
            return None
        positions = self.written_positions(identities)
        if positions is None:
            return None
        random.shuffle(candidates)
        for replica in candidates:
            try:
                connection = db.session.connection(bind_arguments={"bind": replica.engine})
                if all(has_applied(connection, position) for position in positions):
                    replica.reads_served += 1
                    return replica
            except SQLAlchemyError as error:
                replica.mark_down(error)
                db.session.rollback()
        return None

    def written_positions(self, identities: list[str]) -> set[str] | None:
        """The primary positions the identities wrote at recently; None when Redis cannot
        say (the primary serves then: it always has every write)."""
        if not identities:
            return set()
        try:
            values = self.redis.mget([WRITE_KEY_PREFIX + identity for identity in identities])
        except self.redis_errors as error:
            log.warning("read-your-writes: Redis unavailable, reading from the primary: %s", error)
            return None
        return {value.decode() for value in values if value}

    def remember_write(self, identities: list[str]) -> None:
        """Keep the primary's current position under each identity for the window."""
        try:
            position = db.session.execute(
                text("SELECT @@gtid_binlog_pos"), bind_arguments={"bind": db.engine}
            ).scalar()
        except SQLAlchemyError as error:
            log.warning("read-your-writes: no position from the primary: %s", error)
            return
        if not position:
            return  # no binary log: nothing replicates, so nothing to wait for
        try:
            with self.redis.pipeline(transaction=False) as pipeline:
                for identity in identities:
                    pipeline.set(WRITE_KEY_PREFIX + identity, position, ex=self.window_seconds)
                pipeline.execute()
        except self.redis_errors as error:
            log.warning("read-your-writes: position not kept, Redis unavailable: %s", error)


def has_applied(connection, position: str) -> bool:
    """Whether the replica behind `connection` has applied the primary's `position`, waiting
    at most GTID_WAIT_SECONDS for it."""
    waited = connection.execute(
        text("SELECT MASTER_GTID_WAIT(:position, :timeout)"),
        {"position": position, "timeout": GTID_WAIT_SECONDS},
    ).scalar()
    return waited == 0


def replica_for(url: str, engine_options: dict, ping_after_idle: float) -> Replica:
    """A replica's engine (pooled, as the primary's) and its health probe (short timeouts)."""
    probe_timeouts = {
        "connect_timeout": PROBE_TIMEOUT_SECONDS,
        "read_timeout": PROBE_TIMEOUT_SECONDS,
        "write_timeout": PROBE_TIMEOUT_SECONDS,
    }
    parsed = make_url(url)
    name = f"{parsed.host or 'localhost'}:{parsed.port or 3306}"
    engine = create_engine(url, **engine_options)
    prepare_pool(engine, ping_after_idle)
    return Replica(
        name=name,
        engine=engine,
        # One connection kept for the checks: a handshake a second on a busy replica would
        # cost more than the check, and could time out where the check would not.
        probe=create_engine(
            url,
            pool_size=1,
            max_overflow=0,
            # Once a second at most: a replica restarted since the last check is reconnected to.
            pool_pre_ping=True,
            pool_timeout=PROBE_TIMEOUT_SECONDS,
            connect_args=probe_timeouts,
        ),
    )


def request_identities() -> list[str]:
    """Who is making this request, as far as the headers say without the database: the user
    of a valid token, the client of a client key (a hash of it), and any identity a service
    added with `remember_writes_of` (a user who has just registered)."""
    identities = list(g.get("database_writers", ()))
    token = request.headers.get("Authorization", "").strip().partition(" ")[2]
    if token.strip():
        claims = read_token(token.strip())
        if claims is not None:
            identities.append(f"user:{claims[0]}")
    key = request.headers.get("X-Client-Key", "").strip()
    if key:
        identities.append("client:" + hashlib.sha256(key.encode()).hexdigest()[:32])
    return identities


def remember_writes_of(identity: str) -> None:
    """Let `identity` (e.g. `user:42`, a user just created) read this request's writes."""
    if has_request_context():
        g.setdefault("database_writers", []).append(identity)


def init_replicas(app: Flask, url_prefix: str) -> None:
    """With DATABASE_REPLICA_URLS set: route the reads of each request under `url_prefix` (the
    API; health checks and docs never touch a replica) and remember its writes."""
    if not app.config["DATABASE_REPLICA_URLS"]:
        return
    router = ReplicaRouter(app)
    app.extensions["database_replicas"] = router

    @app.before_request
    def choose_database() -> None:
        g.database_replica = None
        if request.method in READ_METHODS and request.path.startswith(url_prefix + "/"):
            g.database_replica = router.choose(request_identities())

    @app.after_request
    def remember_writes(response):
        if request.method not in READ_METHODS and g.get("database_committed"):
            identities = request_identities()
            if identities:
                router.remember_write(identities)
        return response
