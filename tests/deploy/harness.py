"""A releases layout, a real gunicorn serving it and bounded load, for the deploy tests and
bench/deploy.

The layout is the one README "Deploying" describes, in a temporary folder:

    releases/<version>/   a copy of the project's code (without .venv, .git, instance)
    current -> releases/<version>
    shared/               pidfile, access log, gunicorn's output, the SQLite database

gunicorn runs as a tests/processes.py Process: below the subreaper (standing in for systemd), in a
process group of its own, which `Server.stop` ends whatever happened: no gunicorn outlives a
test.
"""

import http.client
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from deploy.processes import master_title, process_title
from deploy.processes import read_pidfile as read_pid
from tests.deploy.slow_app import GUNICORN_APP
from tests.polling import free_port, wait_until
from tests.processes import PROJECT_ROOT, VENV_BIN, Process, conduit_environment

NOT_COPIED = shutil.ignore_patterns(
    ".venv", ".git", "instance", "pids", "__pycache__", "*.pyc", ".*_cache", "node_modules"
)
PROC_NAME = "conduit"
# What the deploy tests' clients pause after each answer: about 150 requests a second arrive
# throughout every deploy, and the 2 workers are not kept busy all the time, which would starve
# the tests running beside them on a small machine.
PAUSE_SECONDS = 0.05


class Releases:
    """releases/<version>/ copies of the project, and the `current` symlink."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = root / "releases"
        self.shared = root / "shared"
        self.current = root / "current"
        self.folder.mkdir(parents=True)
        self.shared.mkdir()
        self.first: Path | None = None

    def add(self, version: str) -> Path:
        """A release of the project's code reporting `version` (copies of the first one, so
        that edits made to the working tree meanwhile do not leak into later releases)."""
        release = self.folder / version
        shutil.copytree(self.first or PROJECT_ROOT, release, ignore=NOT_COPIED, symlinks=True)
        (release / "instance").mkdir(exist_ok=True)
        (release / "VERSION").write_text(version + "\n")
        self.first = self.first or release
        return release

    def add_broken(self, version: str, error: str) -> Path:
        """A release whose app raises RuntimeError(`error`) as it is imported."""
        release = self.add(version)
        package = release / "app" / "__init__.py"
        package.write_text(f"raise RuntimeError({error!r})\n" + package.read_text())
        return release

    def switch(self, version: str) -> None:
        """Point `current` at releases/<version>, atomically (a rename over the old link)."""
        link = self.root / "current.new"
        link.unlink(missing_ok=True)
        link.symlink_to(Path("releases") / version)
        os.replace(link, self.current)


class NotifySocket:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET: like systemd, it reads all
    the time (a full queue would block the senders) and keeps what it was sent."""

    def __init__(self) -> None:
        self.address = f"@conduit-deploy-{uuid.uuid4().hex}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + self.address[1:])
        self.sock.settimeout(0.1)
        self.messages: list[str] = []
        self.closing = threading.Event()
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self) -> None:
        while not self.closing.is_set():
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except TimeoutError:
                continue

    def main_pids(self) -> list[int]:
        """The MAINPID of each message announcing one, in order."""
        pids = []
        for message in list(self.messages):
            fields = dict(line.split("=", 1) for line in message.splitlines() if "=" in line)
            if "MAINPID" in fields:
                pids.append(int(fields["MAINPID"]))
        return pids

    def close(self) -> None:
        self.closing.set()
        self.reader.join()
        self.sock.close()


@dataclass
class Answer:
    """One request of the load, and what came back."""

    path: str
    request_id: str
    started: float
    ended: float
    status: int | None = None
    version: str | None = None
    pid: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status == 200

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def send(port: int, path: str, request_id: str, timeout: float = 30) -> Answer:
    """GET `path` on a new connection; a reset, a timeout or a bad body is an error."""
    answer = Answer(path, request_id, started=time.monotonic(), ended=0.0)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"X-Request-ID": request_id})
        response = connection.getresponse()
        body = response.read()
        answer.status = response.status
        payload = json.loads(body)
        answer.version, answer.pid = payload["version"], payload["pid"]
    except (OSError, http.client.HTTPException, ValueError, KeyError) as error:
        answer.error = f"{type(error).__name__}: {error}"
    finally:
        connection.close()
        answer.ended = time.monotonic()
    return answer


class Load:
    """Clients that each send one request after the other until stopped (or `max_seconds`
    have passed, or `max_requests` were sent): `clients` maps a path to how many clients.
    With `pause` (seconds), each client waits that long after each answer: requests still
    arrive all the time, without the load taking every core of the machine."""

    def __init__(
        self,
        port: int,
        clients: dict[str, int],
        max_seconds: float = 180,
        max_requests: int = 200_000,
        pause: float = 0.0,
    ) -> None:
        self.port = port
        self.clients = clients
        self.max_seconds = max_seconds
        self.max_requests = max_requests
        self.pause = pause
        self.answers: list[Answer] = []
        self.numbers = itertools.count(1)
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def __enter__(self) -> "Load":
        started = time.monotonic()
        for path, count in self.clients.items():
            for _ in range(count):
                thread = threading.Thread(target=self.client, args=(path, started), daemon=True)
                thread.start()
                self.threads.append(thread)
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def client(self, path: str, started: float) -> None:
        while not self.stopping.is_set() and time.monotonic() - started < self.max_seconds:
            number = next(self.numbers)
            if number > self.max_requests:
                return
            self.answers.append(send(self.port, path, f"load-{number}"))
            self.stopping.wait(self.pause)

    def stop(self) -> list[Answer]:
        """Stop the clients once their requests in flight are answered; every answer."""
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=60)
        return self.answers


class Server(Process):
    """gunicorn with the release's gunicorn.conf.py, started through `current` as the unit file
    starts it, with 2 workers, the Test config on SQLite, serving the slow app
    (tests/deploy/slow_app.py) through GUNICORN_APP."""

    def __init__(
        self,
        releases: Releases,
        workers: int = 2,
        config: str = "gunicorn.conf.py",
        notify_socket: str | None = None,
    ) -> None:
        self.releases = releases
        self.port = free_port()
        shared = releases.shared
        self.pidfile = shared / "gunicorn.pid"
        self.access_log = shared / "access.log"
        environ = conduit_environment(
            shared,
            TEST_DATABASE_URL=f"sqlite:///{shared / 'deploy.sqlite'}",
            GUNICORN_APP=GUNICORN_APP,
            GUNICORN_BIND=f"127.0.0.1:{self.port}",
            GUNICORN_WORKERS=str(workers),
            GUNICORN_PIDFILE=str(self.pidfile),
            GUNICORN_ACCESSLOG=str(self.access_log),
        )
        del environ["PYTHONPATH"]  # each release runs its own code
        if notify_socket:
            environ["NOTIFY_SOCKET"] = notify_socket
        command = [str(VENV_BIN / "gunicorn"), "-c", str(releases.current / config)]
        super().__init__(command, environ, shared / "gunicorn.log", cwd=releases.current)

    def __enter__(self) -> "Server":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> int:
        """Start gunicorn; once a master owns the pidfile and /healthz answers, its pid."""
        super().start()
        self.wait_until(lambda: self.health() is not None, 60, "gunicorn to answer")
        return self.master()

    def health(self) -> Answer | None:
        """What /healthz answers now, if it answers 200."""
        answer = send(self.port, "/healthz", f"probe-{uuid.uuid4().hex}", timeout=10)
        return answer if answer.ok else None

    def master(self) -> int:
        """The pid in the pidfile, once it names a live master."""
        return wait_until(
            lambda: (pid := read_pid(self.pidfile)) and self.is_master(pid) and pid,
            30,
            "a master in the pidfile",
        )

    def is_master(self, pid: int) -> bool:
        return process_title(pid) == master_title(PROC_NAME)

    def masters(self) -> list[int]:
        """The gunicorn masters running in the group (whatever their proc_name)."""
        return [
            pid
            for pid in self.group()
            if (process_title(pid) or "").startswith("gunicorn: master [")
        ]

    def deploy(self, *arguments: str) -> subprocess.CompletedProcess:
        """`python manage.py deploy ARGUMENTS` of the current release, in the service's
        environment."""
        current = self.releases.current
        return subprocess.run(
            [sys.executable, str(current / "manage.py"), "deploy", *arguments],
            cwd=current,
            env=self.environ,
            capture_output=True,
            text=True,
            timeout=180,
        )

    def stop(self, grace: float = 20) -> None:
        """TERM to every master (graceful), then KILL whatever is left after `grace` s."""
        super().stop(grace)
