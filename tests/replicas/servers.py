"""A MariaDB primary and replica of the test's own: two mariadbd on free ports, in a temporary
folder, with GTID replication, which a test may stop, start and slow down."""

import os
import shutil
import signal
import subprocess
from contextlib import suppress
from pathlib import Path

import pymysql

from tests.polling import free_port, wait_until

REPLICATION_USER = "replication"
REPLICATION_PASSWORD = "replication-secret"
# Small files and buffers: the servers start in about a second and hold little.
SMALL_SERVER = ["--innodb-log-file-size=4M", "--innodb-buffer-pool-size=16M"]


def mariadb_available() -> bool:
    """Whether mariadbd and mariadb-install-db are installed here."""
    return bool(shutil.which("mariadb-install-db")) and bool(
        shutil.which("mariadbd") or os.path.exists("/usr/sbin/mariadbd")
    )


def mariadbd_path() -> str:
    return shutil.which("mariadbd") or "/usr/sbin/mariadbd"


class MariaDB:
    """One mariadbd: its data folder, socket and port are its own. With `netns`, it runs in
    that network namespace and listens on `address`:3306 there."""

    def __init__(
        self,
        folder: Path,
        server_id: int,
        extra: list[str],
        netns: str | None = None,
        address: str = "127.0.0.1",
    ) -> None:
        self.folder = folder
        self.datadir = folder / "data"
        self.socket = folder / "mariadb.sock"
        self.netns = netns
        self.address = address
        self.port = 3306 if netns else free_port()
        self.server_id = server_id
        self.extra = extra
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        netns = ["ip", "netns", "exec", self.netns] if self.netns else []
        return [
            *netns,
            mariadbd_path(),
            "--no-defaults",
            "--user=root",
            f"--datadir={self.datadir}",
            f"--socket={self.socket}",
            f"--port={self.port}",
            f"--bind-address={self.address}",
            f"--pid-file={self.folder / 'mariadb.pid'}",
            f"--log-error={self.folder / 'error.log'}",
            f"--tmpdir={own_tmpdir(self.folder)}",
            f"--server-id={self.server_id}",
            "--skip-name-resolve",
            *SMALL_SERVER,
            *self.extra,
        ]

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until(lambda: self.answers() or self.process.poll() is not None, 30, "mariadbd")
        if self.process.poll() is not None:
            raise AssertionError(f"mariadbd exited:\n{self.error_log()[-3000:]}")

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), waited for."""
        if self.process is None:
            return
        with suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def answers(self) -> bool:
        try:
            self.sql("SELECT 1")
        except pymysql.err.OperationalError:
            return False
        return True

    def sql(self, statement: str, *args) -> tuple:
        """Run one statement as root over the socket; its rows."""
        connection = pymysql.connect(
            unix_socket=str(self.socket), user="root", connect_timeout=2, autocommit=True
        )
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement, args or None)
                return cursor.fetchall()
        finally:
            connection.close()

    def url(self, database: str, user: str = "root") -> str:
        return f"mysql+pymysql://{user}@{self.address}:{self.port}/{database}?charset=utf8mb4"

    def error_log(self) -> str:
        path = self.folder / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


class ReplicatedPair:
    """A primary (binary log, GTIDs) and a read-only replica following it with
    MASTER_USE_GTID=slave_pos, both installed from one fresh data folder. `hosts` (two
    network namespace hosts with `netns` and `address`) puts each on a host of its own."""

    def __init__(self, folder: Path, hosts: tuple | None = None) -> None:
        self.folder = folder
        binlog = [f"--log-bin={folder / 'primary' / 'data' / 'binlog'}", "--binlog-format=ROW"]
        placed = [{"netns": host.netns, "address": host.address} for host in hosts or ()]
        # Triggers (migration 0004) on a server with a binary log need this (or SUPER).
        self.primary = MariaDB(
            folder / "primary",
            1,
            [*binlog, "--log-bin-trust-function-creators=1"],
            **(placed[0] if placed else {}),
        )
        self.replica = MariaDB(
            folder / "replica",
            2,
            ["--read-only=1", "--relay-log=relay"],
            **(placed[1] if placed else {}),
        )
        self.replication_host = "%" if hosts else "127.0.0.1"

    def start(self) -> None:
        install(self.primary.datadir)
        shutil.copytree(self.primary.datadir, self.replica.datadir, symlinks=True)
        self.primary.start()
        self.replica.start()
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


def own_tmpdir(folder: Path) -> Path:
    """A temporary folder of one server's own: servers sharing /tmp can collide on the names of
    their temporary tables (seen when two installs ran at once)."""
    tmpdir = folder / "tmp"
    tmpdir.mkdir(parents=True, exist_ok=True)
    return tmpdir


def install(datadir: Path) -> None:
    """A fresh data folder with the system tables; root@127.0.0.1 without a password."""
    installed = subprocess.run(
        [
            "mariadb-install-db",
            "--no-defaults",
            "--user=root",
            f"--datadir={datadir}",
            f"--tmpdir={own_tmpdir(datadir.parent)}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            *SMALL_SERVER,
        ],
        capture_output=True,
        text=True,
    )
    if installed.returncode != 0:
        raise AssertionError(f"mariadb-install-db failed:\n{installed.stdout[-3000:]}")
