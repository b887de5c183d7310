"""Real processes in tests, started one way: below a subreaper (as systemd runs a service, so
that even an orphan stays in view and is reaped), in a process group of its own, its output in
a log file. A test signals it, waits for it, and ends all of it whatever happened (`stop`,
`kill`, `process_group`). Also the processes the system tests start most (gunicorn, a Celery
worker, a Redis and a MariaDB of the test's own), the environment a Conduit process gets, and
its database."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pymysql
import requests
from sqlalchemy.engine import make_url

from tests.databases import create_database, database_exists, keep_sqlite_template, sqlite_template
from tests.polling import free_port, wait_until

PROJECT_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
SUBREAPER = Path(__file__).resolve().with_name("subreaper.py")


def answers(url: str, status: int = 200) -> bool:
    """`url` answers with `status` right now."""
    try:
        return requests.get(url, timeout=2).status_code == status
    except requests.RequestException:
        return False


def conduit_environment(folder: Path, **settings: str) -> dict[str, str]:
    """The environment of a Conduit process: this venv first on PATH, the Test config, the broker
    and the SQLite database under `folder`, Sentry off unless given, none of the caller's
    tuning; `settings` on top."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SENTRY_", "TEST_SENTRY_", "GUNICORN_", "CELERY_", "TEST_CELERY_"))
        and not key.startswith(("LOG_", "CORS_", "WEBHOOK_", "NOTIFY_SOCKET", "LISTEN_"))
        and key not in {"RELEASE", "PWD"}
    }
    environ.update(
        PATH=f"{VENV_BIN}{os.pathsep}{environ.get('PATH', '')}",
        CONDUIT_CONFIG="test",
        TEST_DATABASE_URL=f"sqlite:///{folder / 'conduit.sqlite'}",
        DATABASE_URL=f"sqlite:///{folder / 'conduit.sqlite'}",
        # Not CELERY_BROKER_URL: Celery lets that variable override the app's configuration.
        TEST_CELERY_BROKER_URL="filesystem://",
        CELERY_BROKER_FOLDER=str(folder / "broker"),
        SENTRY_DSN="",
        TEST_SENTRY_DSN="",
        GUNICORN_PIDFILE=str(folder / "gunicorn.pid"),
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(PROJECT_ROOT),
    )
    environ.update(settings)
    return environ


def manage(environ: dict[str, str], *arguments: str) -> str:
    """Run `python manage.py ARGUMENTS` with `environ`; its output (fails if it fails)."""
    result = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=PROJECT_ROOT,
        env=environ,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"manage.py {' '.join(arguments)}:\n{result.stderr[-3000:]}"
    return result.stdout


def prepare_database(environ: dict[str, str]) -> None:
    """Create the database `environ` names and run every migration, as `make run` does
    (`manage.py db create`, `db upgrade`). A SQLite database is a copy of the migrated file
    the run keeps (tests/databases.py): a migration run costs a process that loads the app."""
    name = "TEST_DATABASE_URL" if environ.get("CONDUIT_CONFIG") == "test" else "DATABASE_URL"
    url = make_url(environ[name])
    if url.get_backend_name() == "sqlite":
        shutil.copyfile(migrated_sqlite(), url.database)
        return
    if not database_exists(url):
        create_database(url)
    manage(environ, "db", "upgrade")


def migrated_sqlite() -> Path:
    """A SQLite database with every migration run: the template of the current migrations,
    made (by `manage.py db upgrade`) if no run made it yet."""
    template = sqlite_template()
    if not template.exists():
        with tempfile.TemporaryDirectory(prefix="conduit-migrated-") as folder:
            manage(conduit_environment(Path(folder)), "db", "upgrade")
            keep_sqlite_template(Path(folder) / "conduit.sqlite")
    return template


def create_client_key(environ: dict[str, str], name: str = "ops-test") -> str:
    """Create an API client in the database `environ` names; its key. The row `manage.py
    create-client` writes, written from this process: one that loads the app costs seconds."""
    import secrets

    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from blueprints.clients.models import (
        KEY_TAG,
        PREFIX_LENGTH,
        SECRET_BYTES,
        Client,
        hash_client_key,
    )

    name_of_url = "TEST_DATABASE_URL" if environ.get("CONDUIT_CONFIG") == "test" else "DATABASE_URL"
    prefix = KEY_TAG + secrets.token_hex((PREFIX_LENGTH - len(KEY_TAG)) // 2)
    key = f"{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    engine = create_engine(environ[name_of_url])
    try:
        with Session(engine) as session, session.begin():
            session.add(Client(name=name, key_prefix=prefix, key_hash=hash_client_key(key)))
    finally:
        engine.dispose()
    return key


def live_processes() -> dict[int, tuple[int, int, str]]:
    """Every live process: pid -> (parent pid, process group, command line). Zombies are not
    alive."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if fields[0] == "Z":
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except (OSError, IndexError):
            continue  # it exited while we looked
        found[int(entry.name)] = (int(fields[1]), int(fields[2]), cmdline)
    return found


def descendants(pid: int) -> dict[int, str]:
    """The live descendants of `pid`: pid -> command line."""
    processes = live_processes()
    found: dict[int, str] = {}
    parents = {pid}
    while parents:
        children = {child for child, (parent, _, _) in processes.items() if parent in parents}
        children -= found.keys()
        found.update({child: processes[child][2] for child in children})
        parents = children
    return found


class Process:
    """A command run below the subreaper (tests/subreaper.py), in a process group of its own,
    its output (stdout and stderr, or stderr alone in `stderr_path`) appended to `log_path`.

    `send_signal` goes to the subreaper, which passes it on to the processes it runs (a
    Ctrl-C to honcho, a TERM to gunicorn's master, also to one that a deploy started);
    `kill` ends the group and every descendant at once, as a crash would."""

    def __init__(
        self,
        command: list[str],
        environ: dict[str, str],
        log_path: Path,
        *,
        cwd: Path = PROJECT_ROOT,
        stderr_path: Path | None = None,
    ) -> None:
        self.command = command
        self.environ = environ
        self.log_path = log_path
        self.stderr_path = stderr_path
        self.cwd = cwd
        self.process: subprocess.Popen | None = None

    def start(self) -> "Process":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with (
            open(self.log_path, "ab") as log,
            open(self.stderr_path or os.devnull, "ab") as errors,
        ):
            self.process = subprocess.Popen(
                [sys.executable, str(SUBREAPER), *self.command],
                cwd=self.cwd,
                env=self.environ,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=errors if self.stderr_path else subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exited(self) -> bool:
        """Started, and exited since."""
        return self.process is not None and self.process.poll() is not None

    def send_signal(self, signal_number: int) -> None:
        """Signal the subreaper, which passes the signal on to the processes it runs."""
        if self.running():
            self.process.send_signal(signal_number)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def signal_group(self, signal_number: int) -> None:
        """Signal every process of the group at once (SIGSTOP: a hung server)."""
        if self.process is not None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal_number)

    def wait(self, timeout: float) -> int:
        """Wait until everything it ran has exited; the command's exit status."""
        assert self.process is not None, "not started"
        return self.process.wait(timeout=timeout)

    def poll(self) -> int | None:
        return self.process.poll() if self.process is not None else None

    def group(self) -> list[int]:
        """The live processes of its process group."""
        if self.process is None:
            return []
        return [pid for pid, (_, group, _) in live_processes().items() if group == self.process.pid]

    def descendants(self) -> dict[int, str]:
        """Every live process it runs: pid -> command line."""
        return descendants(self.process.pid) if self.process is not None else {}

    def stop(self, grace: float = 10) -> None:
        """SIGTERM (passed on), then `kill` whatever is still there after `grace` seconds."""
        if self.process is None:
            return
        self.terminate()
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace)
        self.kill()

    def kill(self) -> None:
        """SIGKILL the group and every descendant (one in a session of its own too): no
        clean-up, no acknowledgement, as in a crash. Reaps it."""
        if self.process is None:
            return
        for pid in [*self.group(), *self.descendants(), self.process.pid]:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def log(self) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def tail(self, characters: int = 3000) -> str:
        return self.log()[-characters:]

    def wait_until(self, condition, seconds: float, what: str):
        """`wait_until(condition)`, failing at once with the log's end if the process exits."""
        found = wait_until(lambda: condition() or self.exited(), seconds, what)
        if self.exited() and not condition():
            raise AssertionError(f"{self.command[0]} exited waiting for {what}:\n{self.tail()}")
        return found


@contextmanager
def process_group() -> Iterator[list[Process]]:
    """A list to add started processes to; whatever still runs when the block ends is killed."""
    processes: list[Process] = []
    try:
        yield processes
    finally:
        for process in processes:
            process.kill()


def start(
    command: list[str],
    environ: dict[str, str],
    log_path: Path,
    group: list[Process] | None = None,
) -> Process:
    """Start `command` in the project folder (see Process); add it to `group`."""
    process = Process(command, environ, log_path).start()
    if group is not None:
        group.append(process)
    return process


class Gunicorn(Process):
    """`gunicorn -c gunicorn.conf.py` serving Conduit with `environ` on a free port."""

    def __init__(
        self,
        environ: dict[str, str],
        log_path: Path,
        workers: int = 2,
        options: tuple[str, ...] = (),
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        environ = {
            **environ,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_WORKERS": str(workers),
        }
        super().__init__(["gunicorn", "-c", "gunicorn.conf.py", *options], environ, log_path)

    def start(self, ready: str | None = "/healthz") -> "Gunicorn":
        """Start gunicorn; returns once `ready` (a path) answers 200, or at once without it."""
        super().start()
        if ready:
            self.wait_ready(ready)
        return self

    def wait_ready(self, path: str = "/healthz", seconds: float = 60) -> None:
        """Wait until `path` answers 200."""
        self.wait_until(lambda: answers(self.base + path), seconds, f"gunicorn to answer {path}")


class CeleryWorker(Process):
    """`celery -A app.worker worker` with beat embedded (-B), as the Procfile runs them."""

    def __init__(
        self, environ: dict[str, str], folder: Path, name: str, threads: int | None = None
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        # One process by default; `threads` runs the Procfile's pool (--pool=threads).
        pool = ["--pool=threads", f"--concurrency={threads}"] if threads else ["--concurrency=1"]
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "app.worker",
            "worker",
            "--beat",
            f"--schedule={folder / 'beat-schedule'}",
            "--loglevel=INFO",
            *pool,
            f"--hostname={name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        super().__init__(command, environ, folder / "worker.log")

    def start(self) -> "CeleryWorker":
        """Start the worker and wait until it is ready to take tasks."""
        seen = len(re.findall(r" ready\.", self.log()))
        super().start()
        self.wait_until(
            lambda: len(re.findall(r" ready\.", self.log())) > seen,
            30,
            "the Celery worker to be ready",
        )
        return self


class OwnRedis(Process):
    """A Redis server of the test's own on a free port, which the test may stop and start;
    never the shared one on 6379. No persistence: a restart loses whatever it held."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        command = [
            shutil.which("redis-server") or "redis-server",
            *("--bind", "127.0.0.1", "--port", str(self.port)),
            *("--save", "", "--appendonly", "no", "--dir", str(folder)),
        ]
        super().__init__(command, dict(os.environ), folder / "redis.log")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def answers(self) -> bool:
        """Whether it answers PING."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(7) == b"+PONG\r\n"
        except OSError:
            return False

    def start(self) -> "OwnRedis":
        super().start()
        self.wait_until(self.answers, 30, "the test's Redis to answer PING")
        return self

    def freeze(self) -> None:
        """SIGSTOP: connections stay open and accept bytes, nothing answers (a hung broker)."""
        self.signal_group(signal.SIGSTOP)

    def thaw(self) -> None:
        self.signal_group(signal.SIGCONT)


def mariadb_available() -> bool:
    """Whether mariadbd and mariadb-install-db are installed here."""
    return bool(shutil.which("mariadb-install-db")) and os.path.exists(mariadbd_path())


def mariadbd_path() -> str:
    return shutil.which("mariadbd") or "/usr/sbin/mariadbd"


# Small files and buffers: the servers start in about a second and hold little.
SMALL_SERVER = ["--innodb-log-file-size=4M", "--innodb-buffer-pool-size=16M"]


def installed_datadir() -> Path:
    """A data folder as `mariadb-install-db` makes it for this mariadbd (and SMALL_SERVER),
    which servers of the tests' own copy: installing takes seconds (most of it waiting for
    fsync), a copy of its 22 MB some milliseconds. Made once, kept in instance/ beside the
    migrated SQLite files; one for another mariadbd binary is removed."""
    binary = os.stat(mariadbd_path())
    options = zlib.crc32(" ".join(SMALL_SERVER).encode())
    name = f"mariadb-installed-{binary.st_size}-{binary.st_mtime_ns}-{options:08x}"
    kept = PROJECT_ROOT / "instance" / name
    if kept.is_dir():
        return kept
    kept.parent.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=kept.parent, prefix="mariadb-installing-") as scratch:
        datadir, tmpdir = Path(scratch) / "data", Path(scratch) / "tmp"
        tmpdir.mkdir()  # of its own: installs sharing /tmp collided on temporary table names
        installed = subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                "--user=root",
                f"--datadir={datadir}",
                f"--tmpdir={tmpdir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                *SMALL_SERVER,
            ],
            capture_output=True,
            text=True,
        )
        if installed.returncode != 0:
            raise AssertionError(f"mariadb-install-db failed:\n{installed.stdout[-3000:]}")
        with suppress(OSError):  # another process kept one meanwhile: it is the same
            datadir.rename(kept)
    for other in kept.parent.glob("mariadb-installed-*"):
        if other != kept:
            shutil.rmtree(other, ignore_errors=True)
    return kept


class OwnMariaDB(Process):
    """A MariaDB server of the test's own (data folder, socket, free port and temporary folder
    of its own), which the test may stop and start; never the shared one on 3306. With
    `netns`, it runs in that network namespace and listens on `address`:3306 there."""

    def __init__(
        self,
        folder: Path,
        server_id: int = 1,
        extra: tuple[str, ...] = (),
        netns: str | None = None,
        address: str = "127.0.0.1",
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.datadir = folder / "data"
        self.socket = folder / "mariadb.sock"
        self.address = address
        self.port = 3306 if netns else free_port()
        command = [
            *(["ip", "netns", "exec", netns] if netns else []),
            mariadbd_path(),
            "--no-defaults",
            "--user=root",
            f"--datadir={self.datadir}",
            f"--socket={self.socket}",
            f"--port={self.port}",
            f"--bind-address={address}",
            f"--pid-file={folder / 'mariadb.pid'}",
            f"--log-error={folder / 'error.log'}",
            f"--tmpdir={self.tmpdir()}",
            f"--server-id={server_id}",
            "--skip-name-resolve",
            *SMALL_SERVER,
            *extra,
        ]
        super().__init__(command, dict(os.environ), folder / "mariadb.log")

    def tmpdir(self) -> Path:
        """A temporary folder of this server's own: servers sharing /tmp can collide on the
        names of their temporary tables (seen when two installs ran at once, failing CI)."""
        tmpdir = self.folder / "tmp"
        tmpdir.mkdir(parents=True, exist_ok=True)
        return tmpdir

    def install(self) -> "OwnMariaDB":
        """A fresh data folder with the system tables; root@127.0.0.1 without a password: a
        copy of the one mariadb-install-db made for this server binary (installed_datadir)."""
        shutil.copytree(installed_datadir(), self.datadir, symlinks=True)
        return self

    def start(self) -> "OwnMariaDB":
        """Start it (installed first if its data folder is new); returns once it answers."""
        if not self.datadir.exists():
            self.install()
        super().start()
        self.wait_until(self.answers, 60, "the test's MariaDB to accept connections")
        return self

    def stop(self, grace: float = 60) -> None:
        """A clean shutdown (SIGTERM), waited for."""
        super().stop(grace)

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

    def tail(self, characters: int = 3000) -> str:
        """The end of its error log."""
        path = self.folder / "error.log"
        return path.read_text(errors="replace")[-characters:] if path.exists() else ""
