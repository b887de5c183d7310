"""A Conduit app plus routes and tasks that only the operations tests use, for processes they
start: `celery -A tests.ops.worker_app worker`, and `python -m tests.ops.worker_app` which sends
each request described on its standard input through the app (the real Flask stack, Sentry's
integration included).
"""

import gc
import json
import logging
import sys

import sentry_sdk
from flask import jsonify, request
from sqlalchemy import text

from app import create_app
from app.extensions import db
from tests.ops.sentry_receiver import TASK_SIGNING_SECRET

log = logging.getLogger("conduit.ops")

flask_app = create_app()
gc.freeze()  # as app/worker.py does
celery = flask_app.extensions["celery"]


@celery.task(name="ops.echo")
def echo(text: str) -> None:
    """Log `text`: the log line shows the request id the task was sent with."""
    log.info("echo %s", text)


@celery.task(name="ops.explode")
def explode(subscription_id: int) -> None:
    """Fail unexpectedly while a webhook secret is in a local variable."""
    signing_secret = TASK_SIGNING_SECRET
    log.info("signing for subscription %s with %d bytes", subscription_id, len(signing_secret))
    raise RuntimeError(f"task exploded for subscription {subscription_id}")


@flask_app.post("/ops/echo")
def send_echo():
    echo.delay(request.get_json()["text"])
    return jsonify(sent=True), 202


@flask_app.post("/ops/explode-task")
def send_explode():
    explode.delay(request.get_json()["subscription_id"])
    return jsonify(sent=True), 202


@flask_app.post("/ops/explode")
def explode_in_view():
    password = request.get_json()["user"]["password"]
    raise RuntimeError(f"view exploded after reading a {len(password)}-character password")


@flask_app.get("/ops/sql-bug")
def run_a_query_with_a_typo():
    db.session.execute(text("SELECT no_such_column FROM no_such_table"))
    return jsonify(ran=True)


def send_request(call: dict) -> dict:
    """Send the request `call` describes (method, path, headers, json); its status and body."""
    # Without a cookie jar, a Cookie header given here reaches the app as it is.
    response = flask_app.test_client(use_cookies=False).open(
        call["path"], method=call["method"], headers=call.get("headers"), json=call.get("json")
    )
    return {"status": response.status_code, "body": response.get_json()}


def serve(lines) -> None:
    """For each line of JSON: send the request it describes, or with `echo`, send the echo
    task outside any request; print one line of JSON for each once Sentry has been flushed."""
    for line in lines:
        call = json.loads(line)
        if "echo" in call:
            echo.delay(call["echo"])
            answer = {"sent": True}
        else:
            answer = send_request(call)
        sentry_sdk.flush(timeout=10)
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    serve(sys.stdin)
