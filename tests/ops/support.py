"""Real processes for the operations tests: Conduit's own (gunicorn, celery, honcho), a MariaDB
and a Redis of the test's own, and a Sentry receiver. Every process a test starts runs below a
subreaper, so the test sees all its descendants (orphans too) and can end them by pid."""

import gzip
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from tests.polling import free_port, redis_answers, redis_server_command, wait_until
from tests.replicas.servers import own_tmpdir

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SUBREAPER = Path(__file__).resolve().parent / "subreaper.py"


def answers(url: str, status: int = 200) -> bool:
    """`url` answers with `status` right now."""
    try:
        return requests.get(url, timeout=2).status_code == status
    except requests.RequestException:
        return False


def process_environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    """The environment of a Conduit process: this venv first on PATH, the broker and databases
    under `tmp_path`, Sentry off unless given, none of the caller's tuning."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SENTRY_", "TEST_SENTRY_", "GUNICORN_", "CELERY_", "TEST_CELERY_"))
        and not key.startswith(("LOG_", "CORS_", "WEBHOOK_"))
    }
    environ.update(
        PATH=f"{VENV_BIN}{os.pathsep}{environ.get('PATH', '')}",
        CONDUIT_CONFIG="test",
        TEST_DATABASE_URL=f"sqlite:///{tmp_path / 'conduit.sqlite'}",
        DATABASE_URL=f"sqlite:///{tmp_path / 'conduit.sqlite'}",
        # Not CELERY_BROKER_URL: Celery lets that variable override the app's configuration.
        TEST_CELERY_BROKER_URL="filesystem://",
        CELERY_BROKER_FOLDER=str(tmp_path / "broker"),
        SENTRY_DSN="",
        TEST_SENTRY_DSN="",
        GUNICORN_PIDFILE=str(tmp_path / "gunicorn.pid"),
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(PROJECT_ROOT),
    )
    environ.update(settings)
    return environ


def live_processes() -> dict[int, tuple[int, str]]:
    """Every live process: pid -> (parent pid, command line). Zombies are not alive."""
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
        found[int(entry.name)] = (int(fields[1]), cmdline)
    return found


def descendants(pid: int) -> dict[int, str]:
    """The live descendants of `pid`: pid -> command line."""
    processes = live_processes()
    found: dict[int, str] = {}
    parents = {pid}
    while parents:
        children = {child for child, (parent, _) in processes.items() if parent in parents}
        children -= found.keys()
        found.update({child: processes[child][1] for child in children})
        parents = children
    return found


def kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL `process` and every descendant, one pid at a time, and reap it."""
    for pid in [*descendants(process.pid), process.pid]:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait(timeout=30)


@contextmanager
def process_group() -> Iterator[list[subprocess.Popen]]:
    """A list to `start` processes into; whatever still runs when the block ends is killed."""
    processes: list[subprocess.Popen] = []
    try:
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                kill_tree(process)


def start(
    command: list[str],
    environ: dict[str, str],
    log_path: Path,
    group: list[subprocess.Popen] | None = None,
) -> subprocess.Popen:
    """Start `command` in the project folder below a subreaper (so even its orphans stay in
    view; signals are passed on), its output into `log_path`; add it to `group`."""
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, str(SUBREAPER), *command],
            cwd=PROJECT_ROOT,
            env=environ,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    if group is not None:
        group.append(process)
    return process


def prepare_database(environ: dict[str, str]) -> None:
    """Create the database `environ` names and run every migration, as `make run` does."""
    for step in (["db", "create"], ["db", "upgrade"]):
        subprocess.run(
            [sys.executable, "manage.py", *step],
            cwd=PROJECT_ROOT,
            env=environ,
            check=True,
            capture_output=True,
        )


def create_client_key(environ: dict[str, str], name: str = "ops-test") -> str:
    """Create an API client in the database `environ` names (manage.py); its key."""
    result = subprocess.run(
        [sys.executable, "manage.py", "create-client", name],
        cwd=PROJECT_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


class SentryReceiver:
    """A stand-in for Sentry on 127.0.0.1: stores the envelopes that SDKs post to it."""

    def __init__(self) -> None:
        self.envelopes: list[bytes] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding:
                    raise AssertionError(f"unexpected envelope encoding {encoding}")
                receiver.envelopes.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def dsn(self) -> str:
        return f"http://public-key@127.0.0.1:{self.server.server_address[1]}/1"

    def events(self) -> list[dict[str, Any]]:
        """Every error event received so far (not sessions or client reports)."""
        return [item for envelope in self.envelopes for item in envelope_events(envelope)]

    def raw(self) -> bytes:
        return b"\n".join(self.envelopes)

    def __enter__(self) -> "SentryReceiver":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def envelope_events(envelope: bytes) -> list[dict[str, Any]]:
    """The items of type "event" in a Sentry envelope (header line, then item header + payload
    pairs; a payload's length is given in its header or ends at the newline)."""
    events = []
    rest = envelope.split(b"\n", 1)[1] if b"\n" in envelope else b""
    while rest.strip():
        header_line, rest = rest.split(b"\n", 1)
        header = json.loads(header_line)
        if "length" in header:
            payload, rest = rest[: header["length"]], rest[header["length"] :]
            rest = rest.removeprefix(b"\n")
        else:
            payload, _, rest = rest.partition(b"\n")
        if header.get("type") == "event":
            events.append(json.loads(payload))
    return events


class OwnMariaDB:
    """A MariaDB server of the test's own (tmp datadir, free port, own socket), which the test
    may stop and start; never the shared one on 3306."""

    def __init__(self, folder: Path, group: list[subprocess.Popen]) -> None:
        self.folder = folder
        self.port = free_port()
        self.environ = dict(os.environ)
        self.group = group
        self.process: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                shutil.which("mariadb-install-db") or "mariadb-install-db",
                "--no-defaults",
                f"--datadir={folder / 'data'}",
                f"--tmpdir={own_tmpdir(folder)}",
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            check=True,
            capture_output=True,
            env=self.environ,
        )

    def url(self, database: str) -> str:
        return f"mysql+pymysql://root@127.0.0.1:{self.port}/{database}"

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                return bool(connection.recv(1))  # the server greets first
        except OSError:
            return False

    def start(self) -> None:
        server = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
        self.process = start(
            [
                server,
                "--no-defaults",
                f"--datadir={self.folder / 'data'}",
                "--user=root",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--socket={self.folder / 'mariadb.sock'}",
                f"--pid-file={self.folder / 'mariadb.pid'}",
                f"--tmpdir={own_tmpdir(self.folder)}",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=16M",
            ],
            self.environ,
            self.folder / "mariadb.log",
            self.group,
        )
        wait_until(self.answers, 60, "the test's MariaDB to accept connections")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        self.process.wait(timeout=60)
        self.process = None


class OwnRedis:
    """A Redis server of the test's own on a free port, which the test may stop and start."""

    def __init__(self, folder: Path, group: list[subprocess.Popen]) -> None:
        self.folder = folder
        self.port = free_port()
        self.environ = dict(os.environ)
        self.group = group
        self.process: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def answers(self) -> bool:
        return redis_answers(self.port)

    def start(self) -> None:
        self.process = start(
            redis_server_command(self.port, self.folder),
            self.environ,
            self.folder / "redis.log",
            self.group,
        )
        wait_until(self.answers, 30, "the test's Redis to answer PING")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        self.process.wait(timeout=30)
        self.process = None
