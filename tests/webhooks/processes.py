"""Real processes for the end-to-end webhook tests: a Celery worker (with beat) and a Redis of
the test's own. Each runs in a process group of its own, so a test can SIGKILL all of it."""

import os
import re
import signal
import subprocess
import sys
from contextlib import suppress
from pathlib import Path

from tests.polling import free_port, redis_answers, redis_server_command, wait_until

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Process:
    """A command run in its own process group, its output in a log file."""

    def __init__(self, command: list[str], environ: dict[str, str], log_path: Path) -> None:
        self.command = command
        self.environ = environ
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=PROJECT_ROOT,
                env=self.environ,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL the whole process group: no clean-up, no acknowledgement, as in a crash."""
        self._signal_group(signal.SIGKILL)
        self._reap(10)

    def stop(self, grace: float = 5) -> None:
        """SIGTERM, then SIGKILL if the group is still there after `grace` seconds."""
        if self.process is None:
            return
        self._signal_group(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace)
        self.kill()

    def _signal_group(self, signal_number: int) -> None:
        if self.process is not None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal_number)

    def _reap(self, timeout: float) -> None:
        if self.process is not None:
            self.process.wait(timeout=timeout)
            self.process = None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


class Worker(Process):
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

    def start(self) -> None:
        """Start the worker and wait until it is ready to take tasks."""
        seen = len(re.findall(r" ready\.", self.log())) if self.log_path.exists() else 0
        super().start()
        wait_until(
            lambda: len(re.findall(r" ready\.", self.log())) > seen or self._exited(),
            30,
            "the Celery worker to be ready",
        )
        if self._exited():
            raise AssertionError(f"the worker exited:\n{self.log()[-3000:]}")

    def _exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None


class OwnRedis(Process):
    """A Redis server of the test's own on a free port, which the test may stop and start;
    never the shared one on 6379. No persistence: a restart loses whatever it held."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        command = redis_server_command(self.port, folder)
        super().__init__(command, dict(os.environ), folder / "redis.log")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def answers(self) -> bool:
        return redis_answers(self.port)

    def start(self) -> None:
        super().start()
        wait_until(self.answers, 10, "the test's Redis to answer PING")

    def freeze(self) -> None:
        """SIGSTOP: connections stay open and accept bytes, nothing answers (a hung broker)."""
        self._signal_group(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal_group(signal.SIGCONT)
