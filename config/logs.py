"""Log formats shared by every process, and gunicorn's logging configuration.

Standard library only: gunicorn's master reads `gunicorn_logconfig` from here and never
imports the app (a release whose app cannot load must leave the old master serving).
"""

import json
import logging
import os
from collections.abc import Mapping
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
# gunicorn's own lines (the master's, the workers' outside the app) in text: its usual format.
GUNICORN_TEXT_FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] %(message)s"
GUNICORN_DATE_FORMAT = "[%Y-%m-%d %H:%M:%S %z]"


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if hasattr(record, "trace_id"):
            entry["trace_id"] = record.trace_id
        if getattr(record, "task_name", None):
            entry["task"] = record.task_name
        entry.update(self.fields(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)

    def fields(self, record: logging.LogRecord) -> dict[str, Any]:
        """Fields of this kind of line beyond the common ones."""
        return {}


class AccessJsonFormatter(JsonFormatter):
    """gunicorn's access lines: the request's id, status, duration and worker as fields."""

    def fields(self, record: logging.LogRecord) -> dict[str, Any]:
        atoms = record.args if isinstance(record.args, Mapping) else {}
        if not atoms:
            return {}
        return {
            "request_id": atoms["{x-request-id}o"],
            "method": atoms["m"],
            "path": atoms["U"],
            "query": atoms["q"],
            "status": int(atoms["s"]) if str(atoms["s"]).isdigit() else atoms["s"],
            "duration_ms": atoms["M"],
            "bytes": atoms["B"],
            "remote_addr": atoms["h"],
            "user_agent": atoms["a"],
            "worker": record.process,
        }


def gunicorn_logconfig(
    log_format: str | None = None, level: str | None = None, accesslog: str | None = None
) -> dict[str, Any]:
    """gunicorn's `logconfig_dict`: its error and access logs on stderr (the access log in the
    file `accesslog` names, unless "-"), in LOG_FORMAT, at LOG_LEVEL."""
    log_format = (log_format or os.environ.get("LOG_FORMAT", "text")).lower()
    level = (level or os.environ.get("LOG_LEVEL", "INFO")).upper()
    accesslog = accesslog or os.environ.get("GUNICORN_ACCESSLOG", "-")
    json_lines = log_format == "json"
    access_handler: dict[str, Any] = {"formatter": "access"}
    if accesslog == "-":
        access_handler.update({"class": "logging.StreamHandler", "stream": "ext://sys.stderr"})
    else:
        access_handler.update({"class": "logging.FileHandler", "filename": accesslog})
    return {
        "version": 1,
        "disable_existing_loggers": False,
        # The app's lines go through the handler the app adds to the root logger, not these.
        "root": {"level": level, "handlers": []},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["error"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
        },
        "handlers": {
            "error": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "error",
            },
            "access": access_handler,
        },
        "formatters": {
            "error": {"()": JsonFormatter}
            if json_lines
            else {"format": GUNICORN_TEXT_FORMAT, "datefmt": GUNICORN_DATE_FORMAT},
            "access": {"()": AccessJsonFormatter} if json_lines else {"format": "%(message)s"},
        },
    }
