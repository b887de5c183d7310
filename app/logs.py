"""Logging: UTF-8 whatever the locale, a request id on every line, text or JSON lines.

With tracing on (OTEL_* set), each line also carries the trace id beside the request id.

A Celery task sent while serving a request carries that request's id (a message header) and
logs under it, so one id follows a piece of work from the request through its tasks.
"""

import logging
import os
import re
import sys
from contextvars import ContextVar

from celery import signals
from flask import Flask, Response, g, has_request_context, request

from config.logs import TEXT_FORMAT, JsonFormatter

from .tracing import current_trace_id, tracing_configured

REQUEST_ID_HEADER = "X-Request-ID"
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
TRACED_TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s %(trace_id)s] %(name)s: %(message)s"
log = logging.getLogger(__name__)
# The message header that carries the request id into a Celery task.
TASK_REQUEST_ID_HEADER = "request_id"

# Set while a Celery task runs: the id of the request that sent it, and the task's name.
task_request_id: ContextVar[str] = ContextVar("task_request_id", default="-")
task_name: ContextVar[str | None] = ContextVar("task_name", default=None)


def current_request_id() -> str:
    """The id of the request being served, or of the one that sent the running task, else "-"."""
    if has_request_context():
        return g.get("request_id", "-")
    return task_request_id.get()


class RequestIdFilter(logging.Filter):
    """Stamps each record with the request id and the running task's name (a record that
    already has them keeps them), and with the trace id when `traced`."""

    def __init__(self, traced: bool = False) -> None:
        super().__init__()
        self.traced = traced

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        if not hasattr(record, "task_name"):
            record.task_name = task_name.get()
        if self.traced and not hasattr(record, "trace_id"):
            record.trace_id = current_trace_id()
        return True


def utf8_stderr():
    """stderr, re-encoded as UTF-8 when the locale says otherwise (LANG=C)."""
    stream = sys.stderr
    if (getattr(stream, "encoding", "") or "").lower().replace("-", "") != "utf8":
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(encoding="utf-8", errors="backslashreplace")
    return stream


def configure_logging(app: Flask) -> None:
    """Send the root logger to stderr at LOG_LEVEL, in LOG_FORMAT (text or json)."""
    handler = logging.StreamHandler(utf8_stderr())
    traced = tracing_configured()
    handler.addFilter(RequestIdFilter(traced))
    if app.config["LOG_FORMAT"] == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TRACED_TEXT_FORMAT if traced else TEXT_FORMAT))
    root = logging.getLogger()
    for existing in [h for h in root.handlers if getattr(h, "conduit", False)]:
        root.removeHandler(existing)
    handler.conduit = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])
    # Alembic, imported only to migrate (app/extensions.py), logs a line for each plugin it
    # sets up on import.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # Python's warnings (a library's DeprecationWarning, Celery's SecurityWarning) become log
    # lines too, in the same format, instead of bare text on stderr.
    logging.captureWarnings(True)


def assign_request_id() -> None:
    """Take the caller's X-Request-ID when it is sane, else make one (32 random hex digits, as
    a uuid4 would read, for a quarter of its cost)."""
    given = request._get_current_object().headers.get(REQUEST_ID_HEADER, "")
    request_id = given if VALID_REQUEST_ID.fullmatch(given) else os.urandom(16).hex()
    g._get_current_object().request_id = request_id


def add_request_id_header(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = g._get_current_object().get("request_id", "-")
    return response


def init_request_ids(app: Flask) -> None:
    """Give every request an id, echoed in the X-Request-ID response header."""
    app.before_request(assign_request_id)
    app.after_request(add_request_id_header)


def add_request_id_to_task(headers: dict | None = None, **kwargs) -> None:
    """Before a task is sent: carry the current request id in its message headers."""
    request_id = current_request_id()
    if headers is not None and request_id != "-":
        headers.setdefault(TASK_REQUEST_ID_HEADER, request_id)


def enter_task(task=None, **kwargs) -> None:
    """Before a task runs: log under the request id it was sent with, and its name."""
    request_id = getattr(task.request, TASK_REQUEST_ID_HEADER, None)
    task.request.log_tokens = (
        task_request_id.set(request_id if isinstance(request_id, str) else "-"),
        task_name.set(task.name),
    )


def leave_task(task=None, **kwargs) -> None:
    """After a task ran: back to the worker's own context."""
    tokens = getattr(task.request, "log_tokens", None)
    if tokens:
        task_request_id.reset(tokens[0])
        task_name.reset(tokens[1])


def keep_conduit_logging(**kwargs) -> None:
    """Celery skips configuring logging when this signal has a receiver: keep ours (JSON too)."""


def init_task_request_ids() -> None:
    """Let request ids follow tasks, and let workers log through `configure_logging`'s handler."""
    signals.before_task_publish.connect(add_request_id_to_task, weak=False)
    signals.task_prerun.connect(enter_task, weak=False)
    signals.task_postrun.connect(leave_task, weak=False)
    signals.setup_logging.connect(keep_conduit_logging, weak=False)


def log_worker_banner(sender=None, instance=None, **kwargs) -> None:
    """Before the worker prints its banner: log it as one line instead (it would be text)."""
    instance.quiet = True
    log.info("%s", instance.startup_info(artlines=False).strip())


def silence_shutdown_notice(sender=None, **kwargs) -> None:
    """Once the worker is ready: its SIGTERM handler prints "worker: Warm shutdown" as bare
    text on stdout; install it without that line (log_shutdown logs it instead)."""
    from celery.apps.worker import install_worker_term_handler

    install_worker_term_handler(sender.controller, verbose=False)


def log_shutdown(sig=None, how=None, **kwargs) -> None:
    log.info("worker: %s shutdown (%s)", how, sig)


def log_celery_output_as_json(celery) -> None:
    """Worker and beat under LOG_FORMAT=json: what Celery prints instead of logging (banners,
    beat's start line, the shutdown notice, any print) becomes JSON log lines too."""
    celery.log.redirect_stdouts_to_logger(
        logging.getLogger("celery.stdout"), loglevel=logging.INFO, stdout=True, stderr=False
    )
    signals.celeryd_after_setup.connect(log_worker_banner, weak=False)
    signals.worker_ready.connect(silence_shutdown_notice, weak=False)
    signals.worker_shutting_down.connect(log_shutdown, weak=False)
