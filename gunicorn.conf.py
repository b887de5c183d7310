"""gunicorn settings: `gunicorn -c gunicorn.conf.py` with no other argument serves Conduit."""

import multiprocessing
import os

wsgi_app = os.environ.get("GUNICORN_APP", "app:create_app()")
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 8)))
proc_name = "conduit"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
accesslog = "-"
