"""A MariaDB primary and replica of the test's own: two mariadbd on free ports, in a temporary
folder, with GTID replication, which a test may stop, start and slow down."""

import shutil
from pathlib import Path

from tests.processes import OwnMariaDB, Process

REPLICATION_USER = "replication"
REPLICATION_PASSWORD = "replication-secret"


class ReplicatedPair:
    """A primary (binary log, GTIDs) and a read-only replica following it with
    MASTER_USE_GTID=slave_pos, both installed from one fresh data folder. `hosts` (two
    network namespace hosts with `netns` and `address`) puts each on a host of its own."""

    def __init__(self, folder: Path, hosts: tuple | None = None) -> None:
        self.folder = folder
        binlog = [f"--log-bin={folder / 'primary' / 'data' / 'binlog'}", "--binlog-format=ROW"]
        placed = [{"netns": host.netns, "address": host.address} for host in hosts or ()]
        # Triggers (migration 0004) on a server with a binary log need this (or SUPER).
        self.primary = OwnMariaDB(
            folder / "primary",
            1,
            (*binlog, "--log-bin-trust-function-creators=1"),
            **(placed[0] if placed else {}),
        )
        self.replica = OwnMariaDB(
            folder / "replica",
            2,
            ("--read-only=1", "--relay-log=relay"),
            **(placed[1] if placed else {}),
        )
        self.replication_host = "%" if hosts else "127.0.0.1"

    def start(self) -> None:
        self.primary.install()
        shutil.copytree(self.primary.datadir, self.replica.datadir, symlinks=True)
        # Both servers boot at once (OwnMariaDB.start would wait for each in turn).
        for server in (self.primary, self.replica):
            Process.start(server)
        for server in (self.primary, self.replica):
            server.wait_until(server.answers, 60, "the test's MariaDB to accept connections")
        user = f"'{REPLICATION_USER}'@'{self.replication_host}'"
        self.primary.sql(f"CREATE USER {user} IDENTIFIED BY '{REPLICATION_PASSWORD}'")
        self.primary.sql(f"GRANT REPLICATION SLAVE ON *.* TO {user}")
        self.follow(delay=0)

    def follow(self, delay: int) -> None:
        """(Re)point the replica at the primary, applying each event `delay` s after it."""
        self.replica.sql("STOP SLAVE")
        self.replica.sql(
            "CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%s, MASTER_USER=%s, "
            "MASTER_PASSWORD=%s, MASTER_USE_GTID=slave_pos, MASTER_DELAY=%s, "
            "MASTER_CONNECT_RETRY=1",
            self.primary.address,
            self.primary.port,
            REPLICATION_USER,
            REPLICATION_PASSWORD,
            delay,
        )
        self.replica.sql("START SLAVE")

    def caught_up(self) -> bool:
        """Whether the replica has applied everything the primary has written."""
        (position,) = self.primary.sql("SELECT @@gtid_binlog_pos")[0]
        (waited,) = self.replica.sql("SELECT MASTER_GTID_WAIT(%s, 0)", position)[0]
        return waited == 0

    def stop(self) -> None:
        self.replica.stop()
        self.primary.stop()
