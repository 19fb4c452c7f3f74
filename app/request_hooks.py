"""Per-request plumbing: request ids, auth, OPTIONS, maintenance mode, security headers and
request metrics."""

from __future__ import annotations

import re
import time
import uuid

from flask import Flask, current_app, g, request

from app.errors import AppError, envelope
from app.security import enforce_route_auth
from app.security_headers import add_security_headers

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Writes that must keep working during maintenance: getting in and out.
_MAINTENANCE_EXEMPT = {"/api/auth/login", "/api/auth/refresh", "/api/auth/logout", "/login",
                       "/logout"}


def maintenance_exempt(func):
    """Mark a write route that must keep working during maintenance (cancel, the switch that ends
    it...). Works above or below the route decorator: flask-openapi3 keeps the registered view on
    `func.view`, which is what the guard looks up."""
    func._maintenance_exempt = True
    view = getattr(func, "view", None)
    if view is not None:
        view._maintenance_exempt = True
    return func


def register_request_hooks(app: Flask) -> None:
    # Flask runs hooks in registration order. The rate limiter registered its hook in
    # init_app; the request id goes before it (a 429 carries one too), auth after it
    # (the cheapest refusal first).
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.before_request(enforce_route_auth)
    app.before_request(_api_options)
    app.before_request(_maintenance_guard)
    app.after_request(_finish)
    # After-request hooks run last-registered first: at the front of the list, this one runs
    # after flask-limiter's, which would otherwise replace a view's Retry-After with its window.
    app.after_request_funcs.setdefault(None, []).insert(0, _own_retry_after)


def _start() -> None:
    g.started = time.perf_counter()
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else str(uuid.uuid4())


def _api_options():
    """OPTIONS on an /api route: which methods it takes, in the envelope and in `Allow` (no
    token needed, like every answer that reveals only the route table)."""
    if request.method != "OPTIONS" or not request.path.startswith("/api") \
            or request.url_rule is None:
        return None
    allowed = sorted(current_app.make_default_options_response().allow)
    return envelope({"allow": allowed}, headers={"Allow": ", ".join(allowed)})


def _maintenance_guard() -> None:
    if request.method not in _WRITE_METHODS or request.path in _MAINTENANCE_EXEMPT:
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "_maintenance_exempt", False):
        return
    from app.services.system import maintenance_state

    state = maintenance_state()
    if state["enabled"]:
        raise AppError("SYSTEM_MAINTENANCE", state.get("message") or None,
                       {"since": state.get("since")})


def retry_after(response, seconds: int):
    """Say when to come back (the per-account login back-off): kept over the rate limiter's own
    Retry-After, which only knows its per-IP window."""
    g.retry_after = str(seconds)
    response.headers["Retry-After"] = g.retry_after
    return response


def _own_retry_after(response):
    own = g.get("retry_after")
    if own is not None:
        response.headers["Retry-After"] = own
    return response


def _finish(response):
    response.headers["X-Request-ID"] = getattr(g, "request_id", None) or str(uuid.uuid4())
    add_security_headers(response)
    if request.path.startswith("/api"):
        from app.ratelimit import add_window_header
        from app.services.metrics import record_request

        add_window_header(response)
        started = getattr(g, "started", None)
        if started is not None:
            record_request((time.perf_counter() - started) * 1000.0, response.status_code)
    return response
