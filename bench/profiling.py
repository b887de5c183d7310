"""Where a request's time goes: SQL statements per request, and py-spy samples by layer.

Used by bench/api.py: `count_statements` runs each endpoint once in-process on the production
app and records the SQL it sends; `record_profile` samples the gunicorn workers with py-spy while
wrk loads one endpoint; `summarize_profile` groups the samples by layer (driver, SQLAlchemy Core,
ORM, marshmallow, Flask, ...), attributing standard-library frames to the library that called
them, and lists the functions with the most samples of their own.
"""

import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROJECT_CODE = re.compile(rf"^{re.escape(str(PROJECT_ROOT))}/(app|blueprints)/")

# (layer, pattern on a frame's file path), first match wins; standard-library frames match none.
LAYERS = [
    ("driver (PyMySQL)", re.compile(r"/pymysql/")),
    ("SQLAlchemy ORM", re.compile(r"/sqlalchemy/(orm|ext)/")),
    ("SQLAlchemy Core (engine, SQL, dialect)", re.compile(r"/sqlalchemy/")),
    ("Flask-SQLAlchemy", re.compile(r"/flask_sqlalchemy/")),
    ("marshmallow", re.compile(r"/marshmallow/")),
    ("Flask + Werkzeug", re.compile(r"/(flask|werkzeug)/")),
    ("gunicorn", re.compile(r"/gunicorn/")),
    ("JWT (PyJWT, cryptography)", re.compile(r"/(jwt|cryptography)/")),
    ("logging, Sentry", re.compile(r"/(sentry_sdk|logging)/")),
    ("project code (app/, blueprints/)", PROJECT_CODE),
    ("other packages", re.compile(r"/site-packages/")),
]
# A worker blocked on MariaDB's socket: PyMySQL's writes and reads, or the socket module's.
SOCKET_IO = re.compile(r"^(Connection\._(write|read)_bytes .*/pymysql/|\S+ .*/socket\.py$)")
FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^()]*?)(?::(?P<line>\d+))?\)$")


@dataclass
class Alone:
    """One request at a time, in-process: the SQL it sends and its median duration."""

    statements: list[str]
    median_ms: float


def count_statements(app, requests: dict[str, tuple[str, dict]], repeat: int = 30) -> dict:
    """For each named request (path, headers): its SQL statements, and the median time of
    `repeat` runs through the test client, one at a time."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    client = app.test_client()
    statements: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))

    # Every engine: GETs read on the autocommit pool (app/engines.py), writes on the primary's.
    event.listen(Engine, "before_cursor_execute", record)
    try:
        measured = {}
        for name, (path, headers) in requests.items():
            client.get(path, headers=headers)  # warm: caches, first connection
            durations = []
            for _ in range(repeat):
                statements.clear()
                started = time.perf_counter()
                response = client.get(path, headers=headers)
                durations.append(1000 * (time.perf_counter() - started))
                if response.status_code != 200:
                    raise SystemExit(f"bench: GET {path} answered {response.status_code}")
            measured[name] = Alone(list(statements), statistics.median(durations))
        return measured
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def record_profile(master_pid: int, seconds: int, output: Path) -> subprocess.Popen:
    """Start py-spy sampling the gunicorn master's workers for `seconds` (raw folded stacks)."""
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if py_spy is None:
        raise SystemExit("bench: py-spy is missing: pip install -r requirements/development.pip")
    command = [py_spy, "record", "--pid", str(master_pid), "--subprocesses", "--full-filenames"]
    command += ["--rate", "250", "--duration", str(seconds), "--format", "raw", "-o", str(output)]
    return subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )


def layer_of(path: str) -> str | None:
    for layer, pattern in LAYERS:
        if pattern.search(path):
            return layer
    return None


def summarize_profile(folded: Path, top: int = 15) -> str:
    """A text report of py-spy's folded stacks: share of samples per layer, top functions."""
    layers: Counter = Counter()
    own: Counter = Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or "gunicorn: worker" not in stack:
            continue  # the master's own samples
        samples = int(count)
        frames = [FRAME.match(frame) for frame in stack.split(";")]
        frames = [frame for frame in frames if frame]
        if not frames:
            continue
        total += samples
        leaf = frames[-1]
        under_driver = any("/pymysql/" in frame["path"] for frame in frames)
        if under_driver and SOCKET_IO.search(f"{leaf['function']} {leaf['path']}"):
            layers["MariaDB round trips (socket I/O under PyMySQL)"] += samples
            own[f"{leaf['function']} ({short_path(leaf['path'])}:{leaf['line']})"] += samples
            continue
        # The innermost frame that belongs to a known layer (stdlib goes to its caller).
        layer = next(
            (layer_of(frame["path"]) for frame in reversed(frames) if layer_of(frame["path"])),
            "other (interpreter, stdlib)",
        )
        layers[layer] += samples
        own[f"{leaf['function']} ({short_path(leaf['path'])}:{leaf['line']})"] += samples
    if not total:
        return "py-spy recorded no samples"
    lines = [f"{total} samples of busy worker threads, by layer (innermost non-stdlib frame):"]
    lines += [f"  {share(count, total):>6}  {layer}" for layer, count in layers.most_common()]
    lines.append(f"top {top} functions by own samples:")
    lines += [f"  {share(count, total):>6}  {name}" for name, count in own.most_common(top)]
    return "\n".join(lines)


def short_path(path: str) -> str:
    """A frame's file relative to site-packages, the stdlib or the project."""
    return re.sub(rf"^(.*/(site-packages|python3\.\d+)|{re.escape(str(PROJECT_ROOT))})/", "", path)


def share(count: int, total: int) -> str:
    return f"{count / total:.1%}"
