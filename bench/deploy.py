#!/usr/bin/env python
"""Deploys under load: our hooks against the original stack's hook.

The scenario of tests/deploy/test_deploys.py (a releases layout in a temporary folder, the real
gunicorn with gunicorn.conf.py, 2 sync workers, the Test config on SQLite; 8 clients on
/healthz and 2 on the 2 s /_test/slow; 5 deploys, each switching `current` to a new version and
sending USR2 to the master in the pidfile), run once per hook:

- original: the original stack's pre_fork hook, as written: SIGQUIT to the pid in
  `pids/unicorn.pid.oldbin`. gunicorn no longer renames its pidfile to .oldbin (unicorn does).
- original, right pid: the same hook sending SIGQUIT to the old master gunicorn names
  (`server.master_pid`), from pre_fork: before any new worker has loaded the app.
- ours: deploy/hooks.py, TERM once every new worker has loaded the app.

After each USR2 it waits (10 s at most) for the new version to be served and the old master to
be gone. Prints requests, failed requests, slow requests cut off, answers of an older release
once the new one answered and once the deploy took, deploys that took, masters left at the end
and whether the pidfile names the master.
Every gunicorn it starts is stopped when it ends.

    .venv/bin/python bench/deploy.py [--deploys 5]
"""

import argparse
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# The project root comes first: `deploy` is the project's package, not this file.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from deploy.processes import is_alive, read_pidfile  # noqa: E402
from tests.deploy.harness import Load, Releases, Server  # noqa: E402
from tests.deploy.slow_app import SLOW_PATH  # noqa: E402
from tests.polling import wait_until  # noqa: E402

LOAD = {"/healthz": 8, SLOW_PATH: 2}
SETTLE_SECONDS = 10.0

# Each variant's config: the project's gunicorn.conf.py without our hooks, plus the variant's.
WITHOUT_OUR_HOOKS = """
import os, runpy, signal

_settings = runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                        "gunicorn.conf.py"))
globals().update({k: v for k, v in _settings.items() if not k.startswith("__")})
for _hook in ("when_ready", "post_fork", "post_worker_init", "worker_exit", "pre_exec"):
    globals().pop(_hook)
"""

ORIGINAL_HOOK = """
def pre_fork(server, worker):
    old_pidfile = os.path.join(os.path.dirname(server.cfg.pidfile), "unicorn.pid.oldbin")
    if os.path.isfile(old_pidfile):
        with open(old_pidfile) as old:
            old_pid = int(old.read())
        if old_pid != server.pid:
            try:
                os.kill(old_pid, signal.SIGQUIT)
            except OSError:
                pass
"""

ORIGINAL_HOOK_RIGHT_PID = """
_quit_sent = []

def pre_fork(server, worker):
    if server.master_pid and not _quit_sent:
        _quit_sent.append(server.master_pid)
        os.kill(server.master_pid, signal.SIGQUIT)
"""

LEGEND = """
requests: answered during the run (over its seconds); longest /healthz: the longest wait for
an answer of the fast endpoint; failed: reset, cut off or not a 200; old during: answers from
an older release once the new one answered (both masters serve until the old one retires);
old after: answers from an older release than the last deploy asked for, once that deploy took
(or {settle:.0f} s passed)
"""

VARIANTS = {
    "original (.oldbin, QUIT)": ("gunicorn.original.conf.py", WITHOUT_OUR_HOOKS + ORIGINAL_HOOK),
    "original, right pid (QUIT)": (
        "gunicorn.quit.conf.py",
        WITHOUT_OUR_HOOKS + ORIGINAL_HOOK_RIGHT_PID,
    ),
    "ours (TERM once loaded)": ("gunicorn.conf.py", None),
}


@dataclass
class Outcome:
    requests: int
    seconds: float
    slowest_fast: float
    failed: int
    slow_cut_off: int
    overlap: int
    stale: int
    deploys_done: int
    masters_left: int
    pidfile_right: bool
    examples: list[str]


def usr2(server: Server, version: str) -> bool:
    """USR2 to the master in the pidfile; True once `version` is served, that master is gone and
    the new one owns the pidfile (within SETTLE_SECONDS)."""
    try:
        master = wait_until(
            lambda: (pid := read_pidfile(server.pidfile)) and is_alive(pid) and pid,
            SETTLE_SECONDS,
            "a master in the pidfile",
        )
    except AssertionError:
        return False
    os.kill(master, signal.SIGUSR2)

    def took() -> bool:
        owner = read_pidfile(server.pidfile)
        if is_alive(master) or owner in (None, master) or not is_alive(owner):
            return False
        health = server.health()
        return health is not None and health.version == version

    try:
        wait_until(took, SETTLE_SECONDS, f"version {version}")
    except AssertionError:
        return False
    return True


def newest_before(moments: list[float | None], when: float) -> int:
    """The index of the last version whose moment came before `when` (0: the first version)."""
    return max((i + 1 for i, moment in enumerate(moments) if moment and moment < when), default=0)


def run(name: str, config: str, hook: str | None, deploys: int, root: Path) -> Outcome:
    releases = Releases(root)
    versions = [f"1.0.{number}" for number in range(deploys + 1)]
    for version in versions:
        release = releases.add(version)
        if hook is not None:
            (release / config).write_text(hook)
    releases.switch(versions[0])
    done = 0
    settled = []  # when each deploy took, or gave up waiting
    with Server(releases, config=config) as server, Load(server.port, LOAD) as load:
        started = time.monotonic()
        wait_until(lambda: load.answers, 30, "the load to get going")
        for version in versions[1:]:
            releases.switch(version)
            done += usr2(server, version)
            settled.append(time.monotonic())
        answers = load.stop()
        seconds = time.monotonic() - started
        masters = server.masters()
        pidfile_right = masters == [read_pidfile(server.pidfile)]
    failed = [answer for answer in answers if not answer.ok]
    slow_cut_off = [answer for answer in failed if answer.path == SLOW_PATH]
    # Per answer: was its release older than the newest one already answering (both masters
    # serve until the old one retires), or than the newest deploy that had taken?
    first_answered = [
        min((a.started for a in answers if a.version == version), default=None)
        for version in versions[1:]
    ]
    overlap = stale = 0
    for answer in answers:
        if not answer.ok:
            continue
        release = versions.index(answer.version)
        overlap += release < newest_before(first_answered, answer.started)
        stale += release < newest_before(settled, answer.started)
    fast = [answer.seconds for answer in answers if answer.path != SLOW_PATH]
    examples = [f"{a.path}: status {a.status}, {a.error}" for a in failed[:2]]
    print(f"  {name}: {seconds:.0f} s", flush=True)
    return Outcome(
        len(answers),
        seconds,
        max(fast, default=0.0),
        len(failed),
        len(slow_cut_off),
        overlap,
        stale,
        done,
        len(masters),
        pidfile_right,
        examples,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deploys", type=int, default=5)
    arguments = parser.parse_args()
    print(
        f"bench/deploy: {arguments.deploys} deploys under load (8 clients on /healthz, "
        f"2 on the 2 s {SLOW_PATH}), gunicorn 2 sync workers",
        flush=True,
    )
    outcomes = {}
    with tempfile.TemporaryDirectory(prefix="conduit-bench-deploy-") as folder:
        for number, (name, (config, hook)) in enumerate(VARIANTS.items()):
            outcomes[name] = run(name, config, hook, arguments.deploys, Path(folder) / str(number))
    print(LEGEND.format(settle=SETTLE_SECONDS))
    columns = ("requests", "longest /healthz", "failed", "slow cut off", "old during")
    columns += ("old after", "deploys", "masters", "pidfile")
    widths = [max(len(column), 14 if i == 0 else 0) + 1 for i, column in enumerate(columns)]
    print(f"{'hook':28}" + "".join(f" {c:>{w}}" for c, w in zip(columns, widths, strict=True)))
    for name, outcome in outcomes.items():
        cells = (
            f"{outcome.requests} / {outcome.seconds:.0f} s",
            f"{outcome.slowest_fast:.1f} s",
            outcome.failed,
            outcome.slow_cut_off,
            outcome.overlap,
            outcome.stale,
            f"{outcome.deploys_done}/{arguments.deploys}",
            outcome.masters_left,
            "right" if outcome.pidfile_right else "wrong",
        )
        print(f"{name:28}" + "".join(f" {c!s:>{w}}" for c, w in zip(cells, widths, strict=True)))
    for name, outcome in outcomes.items():
        if outcome.examples:
            print(f"{name}, first failures: " + "; ".join(outcome.examples))


if __name__ == "__main__":
    main()
