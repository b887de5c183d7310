"""Error reports to Sentry (sentry-sdk) when SENTRY_DSN is set, from web requests and tasks.

Each event is tagged with the request id (of the request, or of the request that sent the
task) and the release. Secrets never leave the process: sensitive keys are scrubbed wherever
they appear (headers, cookies, bodies, local variables), and so are the secret values the
current request carried, wherever they were copied to.

sentry-sdk is imported only when SENTRY_DSN is set: it costs some 60 ms of CPU to import.
"""

import sys
from functools import cache
from typing import Any

from flask import Flask, has_request_context, request

from .logs import current_request_id, task_name

FILTERED = "[Filtered]"

# Keys whose values are replaced wherever they appear in an event (compared lowercased), with
# sentry-sdk's own (`sensitive_keys`).
OUR_SENSITIVE_KEYS = [
    "x-client-key",
    "x_client_key",
    "client_key",
    "clientkey",
    "key",
    "api-key",
    "x-api-key",
    "password_hash",
    "new_password",
    "jwt",
    "signing_secret",
    "signingsecret",
    "webhook_secret",
    "webhooksecret",
    "secret_key",
    "signature",
    "webhook-signature",
]
# Request headers whose values are secrets, wherever else they are copied to.
SECRET_HEADERS = ("Authorization", "X-Client-Key", "Cookie")
SHORTEST_SECRET = 6  # shorter values would match by accident


@cache
def sensitive_keys() -> frozenset[str]:
    from sentry_sdk.scrubber import DEFAULT_DENYLIST

    return frozenset([*DEFAULT_DENYLIST, *OUR_SENSITIVE_KEYS])


def init_sentry(app: Flask) -> None:
    """Report unhandled errors of `app` and of its Celery tasks when SENTRY_DSN is set."""
    dsn = app.config["SENTRY_DSN"]
    if not dsn:
        return
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.scrubber import EventScrubber

    client = sentry_sdk.get_client()
    if client.is_active() and client.options["dsn"] == dsn:
        return  # one client per process, however many apps the process builds
    sentry_sdk.init(
        dsn=dsn,
        release=app.config["RELEASE"],
        environment=app.config["ENV_NAME"],
        integrations=[FlaskIntegration(), CeleryIntegration()],
        send_default_pii=False,
        event_scrubber=EventScrubber(denylist=sorted(sensitive_keys()), recursive=True),
        before_send=tag_and_scrub_event,
    )


def tag_and_scrub_event(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """Tag `event` with the request id and task, then blank out the request's secrets."""
    tags = event.setdefault("tags", {})
    tags["request_id"] = current_request_id()
    if task_name.get():
        tags["task"] = task_name.get()
    secrets = request_secrets()
    return scrub_values(event, secrets) if secrets else event


def request_secrets() -> list[str]:
    """The secret values the current request carried: credential headers, sensitive fields."""
    if not has_request_context():
        return []
    values = [request.headers.get(name, "") for name in SECRET_HEADERS]
    values += [value for value in request.cookies.values()]
    values += sensitive_values(request.get_json(silent=True))
    found = {part for value in values for part in (value, *value.split()) if part}
    return sorted((v for v in found if len(v) >= SHORTEST_SECRET), key=len, reverse=True)


def sensitive_values(data: Any) -> list[str]:
    """The string values under sensitive keys anywhere in a JSON document."""
    if isinstance(data, list):
        return [value for item in data for value in sensitive_values(item)]
    if not isinstance(data, dict):
        return []
    values = []
    for key, value in data.items():
        if str(key).lower() in sensitive_keys() and isinstance(value, str):
            values.append(value)
        else:
            values += sensitive_values(value)
    return values


def scrub_values(data: Any, secrets: list[str]) -> Any:
    """`data` with every occurrence of the `secrets` inside its strings replaced."""
    if isinstance(data, str):
        for secret in secrets:
            data = data.replace(secret, FILTERED)
        return data
    if isinstance(data, dict):
        return {key: scrub_values(value, secrets) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [scrub_values(value, secrets) for value in data]
    return data


def report_exception(error: BaseException) -> None:
    """Send `error` to Sentry if this process reports to it: only init_sentry imports
    sentry-sdk, so without it no client can be active."""
    sentry_sdk = sys.modules.get("sentry_sdk")
    if sentry_sdk is not None:
        sentry_sdk.capture_exception(error)
