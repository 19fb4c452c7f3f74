"""Rate limits (reference "Rate Limiting", CONTRACT §1) with flask-limiter on Redis.

Three application-wide limits share one bucket across all `/api` routes: anonymous callers per
IP, standard users per user, premium users per user. The identity comes from the JWT claims
(`sub`, `tier`), read without a database query. A Redis outage falls back to in-memory limits.

The HTML login form (POST /login) counts in the same bucket as the API login, so guessing
passwords through the page is no cheaper. The health endpoints count nowhere (load balancers
probe them every few seconds from one address); their responses still say where the caller's
anonymous bucket stands, without spending from it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from flask import Flask, current_app, g, request
from flask_limiter import ApplicationLimit, Limiter, RateLimitExceeded
from limits import parse

from app.errors import error_envelope, iso
from app.security import decoded_token


def _identity() -> tuple[str, str] | None:
    """(user id, tier) from a valid token in the request, or None for anonymous callers."""
    if "rl_identity" in g:
        return g.rl_identity
    token = None
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
    elif current_app.config["JWT_ACCESS_COOKIE_NAME"] in request.cookies:
        token = request.cookies[current_app.config["JWT_ACCESS_COOKIE_NAME"]]
    ident = None
    if token:
        try:
            claims = decoded_token(token)  # verified once per process (app.security)
            ident = (str(claims["sub"]), claims.get("tier", "standard"))
        except Exception:  # noqa: BLE001 - any bad token is just "anonymous" here
            ident = None
    g.rl_identity = ident
    return ident


def _ip_key() -> str:
    return f"ip:{request.remote_addr or 'unknown'}"


def _user_key() -> str:
    ident = _identity()
    return f"user:{ident[0]}" if ident else _ip_key()


def _is_tier(tier: str | None) -> bool:
    ident = _identity()
    if tier is None:
        return ident is None
    return ident is not None and ident[1] == tier


def init_rate_limits(app: Flask) -> None:
    url = app.config["REDIS_URL"]
    app.config.setdefault("RATELIMIT_STORAGE_URI",
                          url.replace("unix://", "redis+unix://", 1) if url.startswith("unix://")
                          else url)
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS",
                          {"socket_connect_timeout": 1, "socket_timeout": 1,
                           "max_connections": int(app.config["REDIS_MAX_CONNECTIONS"])})
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "rl")
    # Unmatched /api paths (404/405) count too: scanning for routes costs quota like any call.
    app.config.setdefault("RATELIMIT_REQUEST_IDENTIFIER",
                          lambda: request.endpoint or "api_unmatched")
    limiter = Limiter(key_func=_ip_key, application_limits=[
        ApplicationLimit(lambda: current_app.config["RATELIMIT_ANONYMOUS"], key_function=_ip_key,
                         scope="anonymous", exempt_when=lambda: not _is_tier(None)),
        ApplicationLimit(lambda: current_app.config["RATELIMIT_USER"], key_function=_user_key,
                         scope="user", exempt_when=lambda: not _is_tier("standard")),
        ApplicationLimit(lambda: current_app.config["RATELIMIT_PREMIUM"], key_function=_user_key,
                         scope="premium", exempt_when=lambda: not _is_tier("premium")),
    ])
    limiter.request_filter(_not_limited)
    limiter.init_app(app)
    app.extensions["app_limiter"] = limiter
    app.register_error_handler(RateLimitExceeded, _too_many)


HEALTH_PATHS = frozenset({"/api/health", "/api/health/", "/api/health/detailed"})


def _not_limited() -> bool:
    """Requests no limit counts: pages (but the login form), static files, docs, /rq, health."""
    if request.path == "/login" and request.method == "POST":
        return False
    return not request.path.startswith("/api") or request.path in HEALTH_PATHS


def current_limiter() -> Limiter:
    """This app's limiter (one per app: its storage belongs to that app's Redis)."""
    return current_app.extensions["app_limiter"]


def _too_many(exc: RateLimitExceeded):
    current = current_limiter().current_limit
    limit = exc.limit.limit
    reset = current.reset_at if current else None
    if not request.path.startswith("/api"):  # the login form: the form again, with why
        from app.pages.session import login_refused

        wait = max(int(reset - time.time()), 1) if reset else limit.get_expiry()
        return login_refused(f"Too many requests from your address. Try again in {wait} "
                             f"seconds.", 429, wait)
    resp = error_envelope("RATE_LIMIT_EXCEEDED", details={
        "limit": limit.amount,
        "window": limit.get_expiry(),
        "reset_at": iso(datetime.fromtimestamp(reset, UTC)) if reset else None,
    })
    return resp


def add_window_header(response) -> None:
    """`X-RateLimit-Window` (seconds); flask-limiter adds Limit/Remaining/Reset itself (the
    health endpoints, which it skips, get all four from `_peek`)."""
    current = current_limiter().current_limit
    if current is not None:
        response.headers["X-RateLimit-Window"] = str(current.limit.get_expiry())
    elif request.path in HEALTH_PATHS:
        _peek(response)


def _peek(response) -> None:
    """The caller's bucket as it stands, read without spending from it."""
    ident = _identity()
    if ident is None:
        setting, key, scope = "RATELIMIT_ANONYMOUS", _ip_key(), "anonymous"
    elif ident[1] == "premium":
        setting, key, scope = "RATELIMIT_PREMIUM", _user_key(), "premium"
    else:
        setting, key, scope = "RATELIMIT_USER", _user_key(), "user"
    limiter = current_limiter()
    try:
        item = parse(current_app.config[setting])
        reset, remaining = limiter.limiter.get_window_stats(
            item, current_app.config["RATELIMIT_KEY_PREFIX"], key, scope)
    except Exception:  # noqa: BLE001 - headers are a courtesy; never fail a health check
        return
    response.headers["X-RateLimit-Limit"] = str(item.amount)
    response.headers["X-RateLimit-Remaining"] = str(remaining)
    response.headers["X-RateLimit-Reset"] = str(int(reset + 1))
    response.headers["X-RateLimit-Window"] = str(item.get_expiry())
