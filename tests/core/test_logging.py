"""Logging: UTF-8 under any locale, request ids on lines and in headers."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.logs import RequestIdFilter, assign_request_id

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# The snippet itself is ASCII: under LANG=C the command line cannot carry other characters.
LOG_SNIPPET = r"""
import logging
from app import create_app
create_app("test")
logging.getLogger("conduit.check").warning("Zo\u00eb \u65e5\u672c\u8a9e")
"""


def run_logging_snippet(**env):
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", LOG_SNIPPET], cwd=PROJECT_ROOT, env=environ, capture_output=True
    )


@pytest.mark.system
def test_non_ascii_is_logged_as_utf8_under_the_c_locale():
    result = run_logging_snippet(LANG="C", LC_ALL="C", PYTHONCOERCECLOCALE="0", PYTHONUTF8="0")

    assert result.returncode == 0, result.stderr
    assert "Zoë 日本語".encode() in result.stderr


@pytest.mark.system
def test_log_format_json_writes_one_object_per_line():
    result = run_logging_snippet(LANG="C", LOG_FORMAT="json")

    line = json.loads(result.stderr.decode().strip().splitlines()[-1])
    assert line["message"] == "Zoë 日本語"
    assert line["level"] == "WARNING"
    assert line["request_id"] == "-"


def test_a_request_id_is_generated_when_none_is_given(client):
    first = client.get("/api/profiles/nobody").headers["X-Request-ID"]
    second = client.get("/api/profiles/nobody").headers["X-Request-ID"]

    assert len(first) == 32 and first != second


def test_a_given_request_id_is_kept_and_a_bogus_one_replaced(client):
    kept = client.get("/api/user", headers={"X-Request-ID": "abc-123"})
    replaced = client.get("/api/user", headers={"X-Request-ID": "bad id\twith junk"})

    assert kept.headers["X-Request-ID"] == "abc-123"
    assert replaced.headers["X-Request-ID"] != "bad id\twith junk"


def test_log_lines_written_during_a_request_carry_its_id(app):
    with app.test_request_context(headers={"X-Request-ID": "trace-me"}):
        assign_request_id()
        record = logging.LogRecord("conduit.test", logging.INFO, __file__, 1, "hi", None, None)
        RequestIdFilter().filter(record)

    assert record.request_id == "trace-me"
