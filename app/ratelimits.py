"""Rate limits (Flask-Limiter): login, registration, writes and webhook management.

Counters live in Redis (`RATELIMIT_STORAGE_URI`, else the broker's Redis), so every worker and
every web node shares them; in memory only in development and tests. Anonymous reads are never
limited and cost no storage round trip.

Services declare the limits of a view with `@rate_limited("login_per_account", ...)` (it only
records them on the view) or of a whole blueprint with `blueprint.rate_limits = (...)`;
`writes_per_user` applies to every write made with a token. A limited request answers 429
`{"errors": {"body": ["too many requests, retry in N s"]}}` with `Retry-After`; limited routes
carry `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds).
"""

import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from types import SimpleNamespace

from blinker import Namespace
from flask import Flask, Response, current_app, request
from flask.globals import request_ctx
from flask_limiter import ApplicationLimit, Limiter, RequestLimit
from flask_limiter.errors import RateLimitExceeded
from werkzeug.middleware.proxy_fix import ProxyFix

from config.base import rate_limit_storage

from .errors import ApiError, error_response
from .security import read_token

log = logging.getLogger(__name__)

_signals = Namespace()
# Sent once per refused request with the limit's name (e.g. for a counter of rejections).
rate_limit_exceeded = _signals.signal("rate-limit-exceeded")

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CLIENT_KEY_PREFIX_LENGTH = 15  # "ck_" and 12 hex digits: names the client, never the secret
# Where Flask-Limiter keeps, on the request context, what it saw of a request: absent when it
# saw nothing (a skipped read), and then its after-request work has nothing to do.
LIMITER_CONTEXT = "_limiter_request_context"


def client_address() -> str:
    """The caller's address: the socket's peer, or what TRUSTED_PROXIES proxies say it is."""
    return request.remote_addr or "-"


def _digest(text: str) -> str:
    # Keys in the shared storage never hold an email or a token in clear.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def login_account() -> str:
    """The account a login names (its email, as login compares it), else the address."""
    from .openapi import request_json  # reads the body once; the view reads the cached copy

    try:
        email = request_json("user").get("email")
    except ApiError:
        email = None
    if not isinstance(email, str) or not email.strip():
        return "address:" + client_address()
    return "account:" + _digest(email.strip().lower())


def token_user() -> str:
    """The user a request's token names (no database read), else the address."""
    header = request.headers.get("Authorization", "")
    claims = read_token(header.partition(" ")[2].strip()) if header else None
    return f"user:{claims[0]}" if claims is not None else "address:" + client_address()


def api_client() -> str:
    """The API client a request's X-Client-Key names (its public prefix), else the address."""
    key = request.headers.get("X-Client-Key", "").strip()
    if key:
        return "client:" + _digest(key[:CLIENT_KEY_PREFIX_LENGTH])
    return "address:" + client_address()


@dataclass(frozen=True)
class NamedLimit:
    """A limit: the setting that holds its value, whose requests it counts, which it deducts."""

    setting: str
    key: Callable[[], str]
    # Only failed logins count against an account: its owner may log in as often as they like.
    deduct_when: Callable[[Response], bool] | None = None


LIMITS = {
    "login_per_account": NamedLimit(
        "RATELIMIT_LOGIN_PER_ACCOUNT", login_account, lambda response: response.status_code == 401
    ),
    "login_per_address": NamedLimit("RATELIMIT_LOGIN_PER_ADDRESS", client_address),
    "registration_per_address": NamedLimit("RATELIMIT_REGISTRATION_PER_ADDRESS", client_address),
    "writes_per_user": NamedLimit("RATELIMIT_WRITES_PER_USER", token_user),
    "webhooks_per_client": NamedLimit("RATELIMIT_WEBHOOKS_PER_CLIENT", api_client),
}


def rate_limited(*names: str):
    """Declare the named limits (see LIMITS) of a view; `init_rate_limits` applies them."""
    unknown = set(names) - set(LIMITS)
    if unknown:
        raise ValueError(f"unknown rate limits: {sorted(unknown)}")

    def declare(view):
        view.rate_limits = (*getattr(view, "rate_limits", ()), *names)
        return view

    return declare


def _setting(name: str) -> Callable[[], str]:
    return lambda: current_app.config[name]


def _is_user_write() -> bool:
    return request.method in WRITE_METHODS and "Authorization" in request.headers


def breach_handler(name: str) -> Callable[[RequestLimit], Response]:
    """What a request refused by limit `name` gets: a 429 saying when to retry.

    Every refusal goes through here once: `rate_limit_exceeded` tells listeners (a metrics
    counter) which limit refused it."""

    def refuse(request_limit: RequestLimit) -> Response:
        retry_in = max(1, math.ceil(request_limit.reset_at - time.time()))
        log.warning("rate limit %s exceeded: %s %s", name, request.method, request.path)
        rate_limit_exceeded.send(current_app._get_current_object(), limit=name)
        response = error_response(429, {"body": [f"too many requests, retry in {retry_in} s"]})
        response.headers["Retry-After"] = str(retry_in)
        return response

    return refuse


def limiter_looked() -> bool:
    """Whether the limiter looked at this request (checked or counted a limit)."""
    return hasattr(request_ctx._get_current_object(), LIMITER_CONTEXT)


def add_rate_limit_headers(response: Response) -> Response:
    """RateLimit-* on responses of limited routes (the IETF draft's names, reset in seconds)."""
    if not limiter_looked():
        return response
    limiter: Limiter = current_app.extensions["rate_limiter"]
    current = limiter.current_limit
    if current is not None:
        reset_in = max(0, math.ceil(current.reset_at - time.time()))
        response.headers["RateLimit-Limit"] = str(current.limit.amount)
        response.headers["RateLimit-Remaining"] = str(max(0, current.remaining))
        response.headers["RateLimit-Reset"] = str(reset_in)
    return response


def handle_rate_limit_exceeded(error: RateLimitExceeded) -> Response:
    return error.response or error_response(429, {"body": ["too many requests"]})


def init_rate_limits(app: Flask) -> Limiter:
    """Trust TRUSTED_PROXIES proxies for the client address, then apply every declared limit.

    One limiter per app: Flask-Limiter keeps its storage on the extension object, and tests build
    apps with storages of their own."""
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    storage = rate_limit_storage(SimpleNamespace(**app.config))
    limiter = Limiter(
        key_func=client_address,
        app=None,
        application_limits=[
            ApplicationLimit(
                _setting(LIMITS["writes_per_user"].setting),
                key_function=token_user,
                scope="writes_per_user",
                exempt_when=lambda: not _is_user_write(),
                on_breach=breach_handler("writes_per_user"),
            )
        ],
        storage_uri=storage,
        # A Redis that does not answer must not hold requests: give up after 2 s.
        storage_options={"socket_connect_timeout": 2, "socket_timeout": 2}
        if storage.startswith("redis")
        else {},
        key_prefix=app.config["RATELIMIT_KEY_PREFIX"],
        strategy="fixed-window",
        headers_enabled=False,
        # A storage that fails lets requests through (logged) rather than answer 500.
        swallow_errors=True,
        enabled=app.config["RATELIMIT_ENABLED"],
    )
    limiter.init_app(app)
    app.extensions["rate_limiter"] = limiter
    limited_blueprints = set()
    for blueprint in app.blueprints.values():
        for name in getattr(blueprint, "rate_limits", ()):
            _limit(limiter, name)(blueprint)
            limited_blueprints.add(blueprint.name)
    skip_reads_outside(app, limiter, frozenset(limited_blueprints))
    skip_hooks_of_unseen_requests(app, limiter)
    for endpoint, view in list(app.view_functions.items()):
        # Flask-Limiter checks a view's own limits when its wrapper runs: serve the wrapper.
        for name in getattr(view, "rate_limits", ()):
            app.view_functions[endpoint] = _limit(limiter, name)(app.view_functions[endpoint])
    app.after_request(add_rate_limit_headers)
    app.register_error_handler(RateLimitExceeded, handle_rate_limit_exceeded)
    return limiter


def skip_reads_outside(app: Flask, limiter: Limiter, limited_blueprints: frozenset[str]) -> None:
    """Keep the limiter off the hot read path: a GET, HEAD or OPTIONS outside a blueprint with
    limits of its own (webhooks) is never limited (writes_per_user counts writes only, and
    login and registration are POSTs), so it skips Flask-Limiter's checks entirely."""
    check = limiter._check_request_limit
    hooks = app.before_request_funcs[None]

    def check_request_limit() -> None:
        served = request._get_current_object()
        if served.method in READ_METHODS and served.blueprint not in limited_blueprints:
            return
        check()

    if check in hooks:  # Flask-Limiter registers it only when the limiter is enabled
        hooks[hooks.index(check)] = check_request_limit


def skip_hooks_of_unseen_requests(app: Flask, limiter: Limiter) -> None:
    """Flask-Limiter's after-request hook (deferred deductions, headers) and its teardown (which
    forgets what it saw) run only for requests it looked at: a skipped read costs nothing."""

    def when_looked(hook: Callable) -> Callable:
        def run_when_limiter_looked(value):
            return hook(value) if limiter_looked() else value

        return run_when_limiter_looked

    for hooks in (app.after_request_funcs[None], app.teardown_request_funcs[None]):
        for number, hook in enumerate(hooks):
            owner = hook.args[0] if isinstance(hook, partial) and hook.args else None
            if owner is limiter or getattr(hook, "__self__", None) is limiter:
                hooks[number] = when_looked(hook)


def _limit(limiter: Limiter, name: str):
    limit = LIMITS[name]
    # Shared: one count per key across every route the limit applies to.
    return limiter.shared_limit(
        _setting(limit.setting),
        scope=name,
        key_func=limit.key,
        deduct_when=limit.deduct_when,
        on_breach=breach_handler(name),
    )
