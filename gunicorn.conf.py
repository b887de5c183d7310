"""gunicorn settings: `gunicorn -c gunicorn.conf.py` with no other argument serves Conduit.

Deploys replace a running master with `kill -USR2` (README, "Deploying"); the hooks that retire
the old master without a failed request live in deploy/hooks.py.
"""

import gc
import multiprocessing
import os
import sys

from gunicorn.util import getcwd

# This file's folder as it was reached: through the `current` symlink in a releases layout
# (gunicorn's getcwd keeps $PWD's symlinks when it can); and the release it points to now.
HERE = os.path.dirname(os.path.join(getcwd(), __file__))
RELEASE_FOLDER = os.path.realpath(HERE)
if RELEASE_FOLDER not in sys.path:
    sys.path.insert(0, RELEASE_FOLDER)

from config.logs import gunicorn_logconfig  # noqa: E402  (standard library only)
from deploy import hooks, responses  # noqa: E402  (needs RELEASE_FOLDER on sys.path)

# Each answer leaves a worker in one write, so a worker killed mid-answer has sent nothing the
# balancer cannot retry elsewhere (deploy/responses.py).
responses.install()

wsgi_app = os.environ.get("GUNICORN_APP", "app:create_app()")
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 8)))

# Each master (the one USR2 starts too) runs the release `current` points to when it starts,
# resolved: its workers, also those it starts later (after a crash), load that release's code,
# never a newer one whose deploy failed. USR2 re-executes gunicorn in `current` (pre_exec), HUP
# re-reads this file there. The app loads in each worker, after the fork, not in the master (no
# preload_app): a release that cannot load fails in its workers while the old master keeps
# serving, HUP reloads code too, and no database connection is shared across forks.
chdir = RELEASE_FOLDER
preload_app = False

# In a releases layout, GUNICORN_PIDFILE must name a place outside the releases.
pidfile = os.environ.get("GUNICORN_PIDFILE", os.path.join(RELEASE_FOLDER, "pids", "gunicorn.pid"))
os.makedirs(os.path.dirname(pidfile) or ".", exist_ok=True)

# Metrics (METRICS_BIND or METRICS_TOKEN set): every worker writes prometheus-client's
# multiprocess files, by default beside the pidfile (outside the releases: a USR2 deploy's new
# workers add to the same counts). Set before prometheus-client is first imported.
if os.environ.get("METRICS_BIND") or os.environ.get("METRICS_TOKEN"):
    os.environ.setdefault(
        "PROMETHEUS_MULTIPROC_DIR", os.path.join(os.path.dirname(pidfile) or ".", "metrics")
    )
from deploy import metrics  # noqa: E402  (after PROMETHEUS_MULTIPROC_DIR is settled)

# ps shows "gunicorn: master [conduit]" and "gunicorn: worker [conduit]" (setproctitle); the
# hooks check that title before they signal an old master.
proc_name = "conduit"

# A worker silent for `timeout` s (stuck in a request) is killed and replaced. On TERM (and on
# a deploy's retirement of the old master) workers get `graceful_timeout` s to finish the
# requests they are serving: longer than our slowest legitimate request.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))

# gunicorn's error and access logs go to stderr (the access log to GUNICORN_ACCESSLOG when it
# names a file), in LOG_FORMAT: with json, each line is a JSON object, the access line's request
# id, status, duration and worker as fields (config/logs.py).
logconfig_dict = gunicorn_logconfig()
# The common log format, then the request id the app echoes in X-Request-ID (the same id is on
# the app's own log lines), the duration and the worker's pid: the text access line, and the
# JSON line's message.
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" '
    "request_id=%({x-request-id}o)s duration_ms=%(M)s worker=%(p)s"
)

# gunicorn's control socket defaults to one path per user ($XDG_RUNTIME_DIR or ~/.gunicorn),
# which the new master takes over and the old one deletes as it exits; signals do the job.
control_socket_disable = True


def when_ready(server) -> None:
    hooks.when_ready(server)
    metrics.when_ready(server)


# A worker loads the app with the garbage collector off, then freezes what it loaded
# (gc.freeze) and turns the collector on: none of it is garbage (about a thousand of its 180,000
# objects are), yet the collector would walk all of them many times while they load, then at
# each full collection, and at exit again. About 0.4 s of CPU less per worker start (of 1.2 s),
# on every deploy; the same for the Celery worker (app/worker.py).
def post_fork(server, worker) -> None:
    gc.disable()
    hooks.post_fork(server, worker)


def post_worker_init(worker) -> None:
    gc.freeze()
    gc.enable()
    metrics.post_worker_init(worker)
    hooks.post_worker_init(worker)


on_starting = metrics.on_starting
worker_exit = hooks.worker_exit
child_exit = metrics.child_exit
pre_exec = hooks.re_exec_from(HERE)
