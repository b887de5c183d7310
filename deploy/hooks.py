"""gunicorn hooks for deploys with USR2 without a failed request (gunicorn.conf.py wires them).

On USR2 the old master forks and re-executes gunicorn. The new master knows the old one's pid
(`server.master_pid`, from GUNICORN_PID), writes `<pidfile>.2` and starts its workers on the
same listening sockets, beside the old workers. These hooks make it wait until every one of its
workers has loaded the app (`post_worker_init` is the first hook that means that), then tell
systemd it is the main process and send the old master TERM: graceful, its workers finish the
requests they are serving (QUIT would cut them off). When the old master has exited, gunicorn
renames `<pidfile>.2` to `<pidfile>` by itself.

If a worker cannot load the app, gunicorn stops the new master before the old one heard of it:
the old master keeps serving the old code, and `<pidfile>.2.error` says what went wrong.

Draining: once a master gets TERM (a stop, or a deploy retiring it), its workers' /readyz
answers 503, so a load balancer stops sending it requests. With GUNICORN_DRAIN_SECONDS the
master keeps accepting for that long first, and only then stops as TERM always does: the
balancer notices before the process stops accepting.
"""

import contextlib
import mmap
import os
import select
import signal
import struct
import sys
import threading
import traceback
from collections.abc import Callable, Iterable

from . import systemd
from .processes import master_title, process_title, worker_title

# A worker reports "loaded" by writing its pid to the master's pipe: 4 bytes, written atomically.
PID_FORMAT = struct.Struct("=i")


def error_report_path(pidfile: str) -> str:
    """Where a new master and its workers write why a deploy failed: `<pidfile>.2.error`."""
    return f"{pidfile}.2.error"


def write_error_report(pidfile: str | None, text: str) -> None:
    """Record why this deploy failed; the first failure is kept (later ones are its echoes).

    Written whole before it appears (a hard link of a finished file), so whoever sees the
    report exist reads all of it.
    """
    if not pidfile:
        return
    path = error_report_path(pidfile)
    draft = f"{path}.{os.getpid()}"
    try:
        with open(draft, "w", encoding="utf-8") as report:
            report.write(text + "\n")
        os.link(draft, path)  # fails if a report is there: the first one stays
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            os.unlink(draft)


def describe_failure(error: BaseException) -> str:
    """One line: the exception, and where it was raised."""
    summary = traceback.format_exception_only(type(error), error)[-1].strip()
    if isinstance(error, SyntaxError) and error.filename:
        return f"{summary} ({error.filename}:{error.lineno})"
    frames = traceback.extract_tb(error.__traceback__)
    if frames:
        return f"{summary} ({frames[-1].filename}:{frames[-1].lineno})"
    return summary


def old_master_refusal(pid: int, proc_name: str) -> str | None:
    """Why `pid` must not be sent TERM as the old master, or None when it may: it is this app's
    gunicorn master (by its process title) and it is the master that started this process."""
    if pid <= 1:
        # 0 or a negative pid would signal a whole process group.
        return f"{pid} is not the pid of an old master"
    if pid == os.getpid():
        return f"pid {pid} is this master itself"
    title = process_title(pid)
    if title is None:
        return f"no process {pid} is running (a stale pid)"
    expected = master_title(proc_name)
    if title != expected:
        return f"pid {pid} is {title!r}, not {expected!r}"
    if os.getppid() != pid:
        return f"pid {pid} is not the master that started this one (our parent is {os.getppid()})"
    return None


def retire_old_master(
    pid: int, proc_name: str, announce: Callable[[], None] | None = None
) -> str | None:
    """Send the old master TERM, after `announce()`; returns why it refused, None when sent."""
    refusal = old_master_refusal(pid, proc_name)
    if refusal is not None:
        return refusal
    if announce is not None:
        announce()
    os.kill(pid, signal.SIGTERM)
    return None


class BootCount:
    """The workers of a master that have loaded the app, counted against how many it runs."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.booted: set[int] = set()

    def loaded(self, live_workers: Iterable[int]) -> int:
        """How many of the live workers have loaded the app."""
        return len(self.booted & set(live_workers))

    def add(self, pid: int, live_workers: Iterable[int]) -> bool:
        """Worker `pid` loaded the app; True once `expected` live workers have (a worker that
        loaded and then died does not count)."""
        self.booted.add(pid)
        return self.loaded(live_workers) >= self.expected


class Takeover:
    """In a master: once all its workers have loaded the app, announce it to systemd and, in a
    new master, retire the old one. Gives up a new master whose workers do not load in time."""

    def __init__(self, server) -> None:
        self.server = server
        self.old_pid = server.master_pid  # 0 unless this master was started by USR2
        self.count = BootCount(server.cfg.workers)
        # A worker that hangs while loading is killed after `timeout` and started again; after
        # two such rounds the release is judged broken.
        self.give_up_after = 2 * server.cfg.timeout or None
        self.read_fd, self.write_fd = os.pipe()
        self.done = threading.Event()

    def start(self) -> None:
        """Watch for workers reporting, in a thread of the master (its main loop is gunicorn's)."""
        threading.Thread(target=self.watch, name="conduit-takeover", daemon=True).start()

    def report_loaded(self) -> None:
        """In a worker: tell the master this worker has loaded the app."""
        try:
            os.write(self.write_fd, PID_FORMAT.pack(os.getpid()))
        except OSError as error:
            self.server.log.warning("Could not report to the master: %s", error)

    def watch(self) -> None:
        pending = b""
        timeout = self.give_up_after
        while True:
            # Reads go on after the takeover, so that a late worker's report never blocks it.
            readable, _, _ = select.select([self.read_fd], [], [], timeout)
            if not readable:
                self.too_slow()
                timeout = None
                continue
            pending += os.read(self.read_fd, 4096)
            while len(pending) >= PID_FORMAT.size:
                (pid,) = PID_FORMAT.unpack(pending[: PID_FORMAT.size])
                pending = pending[PID_FORMAT.size :]
                self.worker_loaded(pid)

    def worker_loaded(self, pid: int) -> None:
        if self.done.is_set():
            return
        if self.count.add(pid, list(self.server.WORKERS)):
            self.done.set()
            self.take_over()

    def old_master_present(self) -> bool:
        """The master this one replaces is still up (it is our parent until it exits)."""
        return bool(self.old_pid) and os.getppid() == self.old_pid

    def take_over(self) -> None:
        log = self.server.log
        pid = os.getpid()
        workers = self.count.expected
        status = f"MAINPID={pid}\nREADY=1\nSTATUS=gunicorn master {pid}: {workers} workers serving"
        if not self.old_master_present():
            try:
                systemd.notify(status)
            except OSError as error:
                log.warning("Could not notify systemd: %s", error)
            log.info("All %d workers have loaded the app", workers)
            return
        try:
            refusal = retire_old_master(
                self.old_pid, self.server.cfg.proc_name, announce=lambda: systemd.notify(status)
            )
        except OSError as error:
            # Under systemd, the service would be stopped when its main process (the old
            # master) exits unless systemd knows the new one: keep the old master then.
            self.give_up(f"could not tell systemd that the new master {pid} takes over: {error}")
            return
        if refusal is None:
            log.info(
                "All %d workers have loaded the app: sent TERM to the old master %s",
                workers,
                self.old_pid,
            )
        else:
            log.warning("Not retiring the old master: %s", refusal)

    def give_up(self, reason: str) -> None:
        """Stop this new master and leave the old one serving, unless it is gone already."""
        log = self.server.log
        if not self.old_master_present():
            log.error("%s; this master stays, as the only one", reason)
            return
        self.done.set()
        log.error("Deploy abandoned: %s; the old master %s keeps serving", reason, self.old_pid)
        write_error_report(self.server.cfg.pidfile, f"deploy abandoned: {reason}")
        # Stop this new master the way TERM always does: gracefully, through gunicorn's loop.
        os.kill(os.getpid(), signal.SIGTERM)

    def too_slow(self) -> None:
        if self.done.is_set():
            return
        loaded = self.count.loaded(list(self.server.WORKERS))
        self.give_up(
            f"only {loaded} of {self.count.expected} workers of the new master {os.getpid()} "
            f"loaded the app within {self.give_up_after} s"
        )


class Drain:
    """One byte of memory the master shares with the workers it forks: set once it drains."""

    def __init__(self) -> None:
        self.flag = mmap.mmap(-1, 1)  # anonymous and shared: the forked workers see writes

    def begin(self) -> None:
        self.flag[0] = 1

    def active(self) -> bool:
        """Whether the master is draining (read in the workers, by /readyz)."""
        return self.flag[0] == 1

    def on_term(self, server, seconds: float) -> Callable[[int, object], None]:
        """The master's TERM handler: drain, then (after `seconds`) stop as gunicorn does."""

        def handle_term(signal_number: int, frame: object) -> None:
            already = self.active()
            self.begin()
            if seconds <= 0:
                server.signal(signal_number, frame)
            elif not already:
                timer = threading.Timer(seconds, server.signal, (signal_number, None))
                timer.daemon = True
                timer.start()

        return handle_term


def drain_seconds() -> float:
    """GUNICORN_DRAIN_SECONDS: how long a master keeps accepting after TERM (default 0)."""
    return float(os.environ.get("GUNICORN_DRAIN_SECONDS", 0))


_takeover: Takeover | None = None
_drain: Drain | None = None


def when_ready(server) -> None:
    """Master, before it starts its workers: watch for them to load the app; drain on TERM."""
    global _takeover, _drain
    _takeover = Takeover(server)
    _takeover.start()
    _drain = Drain()
    seconds = drain_seconds()
    signal.signal(signal.SIGTERM, _drain.on_term(server, seconds))
    if seconds > 0:
        server.log.info("On TERM: /readyz answers 503 for %g s before the master stops", seconds)
    if server.master_pid:
        server.log.info(
            "New master: the old master %s will be sent TERM once all %d workers load the app",
            server.master_pid,
            server.cfg.workers,
        )


def post_fork(server, worker) -> None:
    """Worker, just forked: "gunicorn: worker [conduit]" whichever master started it (gunicorn
    would leave the workers of a deploy's new master named "[conduit.2]" for their life)."""
    try:
        from setproctitle import setproctitle
    except ImportError:
        return
    setproctitle(worker_title(server.cfg.proc_name))


def post_worker_init(worker) -> None:
    """Worker, once it has loaded the app: tell its master, and let /readyz see the drain."""
    if _drain is not None and hasattr(worker.wsgi, "extensions"):
        worker.wsgi.extensions["draining"] = _drain.active
    if _takeover is not None:
        _takeover.report_loaded()


def worker_exit(server, worker) -> None:
    """Worker, on its way out: when it could not load the app in a new master, say why."""
    if worker.booted or not server.master_pid:
        return
    failure = sys.exc_info()[1]
    boot_errors = (server.WORKER_BOOT_ERROR, server.APP_LOAD_ERROR)
    if not isinstance(failure, SystemExit) or failure.code not in boot_errors:
        return
    # gunicorn turned the error into sys.exit(3 or 4) while handling it: it is the context.
    cause = failure.__context__ or failure
    write_error_report(
        server.cfg.pidfile,
        f"a worker of the new master {server.pid} could not load the app: "
        f"{describe_failure(cause)}",
    )


def re_exec_from(directory: str) -> Callable[[object], None]:
    """The pre_exec hook: USR2 re-executes gunicorn in `directory` (the `current` symlink).

    gunicorn would start the new master in the directory the old master resolved when it
    started, the old release: from `current`, the new master reads the new release's
    gunicorn.conf.py, and a removed old release cannot break the deploy. An exception in this
    child (forked from the old master) would run a copy of the old master's main loop, which
    QUITs the old master's workers: anything that would fail ends the child instead.
    """

    def pre_exec(server) -> None:
        start = server.START_CTX
        if os.path.isdir(directory):
            start["cwd"] = directory
        problems = []
        if not os.path.isdir(start["cwd"]):
            problems.append(f"directory {start['cwd']} is gone")
        if not os.access(start[0], os.X_OK):
            problems.append(f"interpreter {start[0]} is not executable")
        if problems:
            message = "USR2 not carried out: " + "; ".join(problems)
            server.log.error(message)
            write_error_report(server.cfg.pidfile, message)
            os._exit(1)

    return pre_exec
