"""What /proc says about a process: is it alive, what is its title, who is its parent."""

import os
from pathlib import Path

PROC = Path("/proc")


def master_title(proc_name: str) -> str:
    """The process title gunicorn (with setproctitle) gives a master of `proc_name`."""
    return f"gunicorn: master [{proc_name}]"


def worker_title(proc_name: str) -> str:
    """The process title gunicorn (with setproctitle) gives a worker of `proc_name`."""
    return f"gunicorn: worker [{proc_name}]"


def process_title(pid: int) -> str | None:
    """The title (command line) of a live process; None when there is none or it is a zombie."""
    if pid <= 0:
        return None
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # setproctitle pads the title with NULs; a zombie's command line is empty.
    title = raw.split(b"\0", 1)[0].decode("utf-8", "replace").strip()
    return title or None


def stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state, ppid, pgrp, ...)."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name sits in parentheses and may itself contain spaces or parentheses.
    return raw[raw.rindex(")") + 2 :].split()


def parent_pid(pid: int) -> int | None:
    """The parent of `pid`, or None when there is no such process."""
    fields = stat_fields(pid)
    return int(fields[1]) if fields else None


def is_alive(pid: int) -> bool:
    """`pid` is a running process (not a zombie waiting to be reaped)."""
    fields = stat_fields(pid) if pid > 0 else None
    return fields is not None and fields[0] not in {"Z", "X"}


def is_master(pid: int, proc_name: str) -> bool:
    """`pid` is a live gunicorn master of `proc_name` (the title setproctitle gives it)."""
    return process_title(pid) == master_title(proc_name)


def working_directory(pid: int) -> str | None:
    """The directory `pid` runs in (symlinks resolved: the release, not `current`)."""
    try:
        return os.readlink(PROC / str(pid) / "cwd")
    except OSError:
        return None


def all_pids() -> list[int]:
    """Every process id in /proc."""
    return [int(entry.name) for entry in PROC.iterdir() if entry.name.isdigit()]


def children(pid: int) -> list[int]:
    """The live processes whose parent is `pid`."""
    return [child for child in all_pids() if parent_pid(child) == pid and is_alive(child)]


def read_pidfile(path: str | os.PathLike) -> int | None:
    """The pid written in a pidfile, or None when the file is missing or holds no number."""
    try:
        text = Path(path).read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return int(text) if text.isdigit() else None
