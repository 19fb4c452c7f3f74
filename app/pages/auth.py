"""Page authentication: JWTs in HttpOnly cookies with CSRF double-submit (CONTRACT §2).

Pages use the same users, tokens and revocation list as the API. When the access cookie has
expired but the refresh cookie is still good, the page refreshes it transparently; a write in that
state must still carry the CSRF token of the expired access cookie.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import unquote, urlparse

from flask import after_this_request, current_app, g, request, url_for
from flask_jwt_extended import (
    decode_token,
    get_jwt,
    set_access_cookies,
    verify_jwt_in_request,
)
from flask_jwt_extended.exceptions import CSRFError, NoAuthorizationError
from jwt.exceptions import ExpiredSignatureError, InvalidTokenError

from app.errors import AppError
from app.extensions import db
from app.models.user import User
from app.pages.htmx import go
from app.security import _load_user, check_permissions, claims_revoked, token_refusal
from app.services.auth import access_token_for_login


def page_user() -> User | None:
    """The logged-in user of this page request, or None (with `g.page_auth_problem` saying why
    when the login page should tell: expired, disabled, password changed). Sets `g.user`.

    When Redis cannot be reached, nobody's cookie can be checked against the revocation list:
    that is a 503 (`SYSTEM_OVERLOADED`, a clear error page), never a quiet "not logged in"
    that would send a logged-in user to the login form."""
    if "user" in g:
        return g.user
    g.user = None  # also what the error page sees if the checks below cannot be made
    user = None
    try:
        verify_jwt_in_request(locations=["cookies"])
        claims = get_jwt()
        user = _admitted(claims, _load_user(claims["sub"]))
    except ExpiredSignatureError:
        user = _refresh_from_cookie()
    except AppError as exc:
        if exc.code == "SYSTEM_OVERLOADED":
            raise AppError("SYSTEM_OVERLOADED", UNAVAILABLE) from exc
        user = None
    except (NoAuthorizationError, CSRFError, InvalidTokenError, ValueError):
        user = None
    except Exception:  # noqa: BLE001 - revoked or malformed tokens: just not logged in
        user = None
    g.user = user
    return user


UNAVAILABLE = ("Your session cannot be checked right now: the session store (Redis) is not "
               "answering. Nothing was changed. Try again in a moment.")
PROBLEMS = {"AUTH_ACCOUNT_DISABLED": "disabled", "AUTH_TOKEN_INVALID": "changed"}


def _admitted(claims: dict, user: User | None) -> User | None:
    """`user` if the token `claims` still admit them (app.security.token_refusal), else None
    with the reason kept for the login page."""
    refusal = token_refusal(claims, user)
    if refusal is None:
        return user
    g.page_auth_problem = PROBLEMS.get(refusal.code) if user is not None else None
    return None


def _refresh_from_cookie() -> User | None:
    cfg = current_app.config
    old = request.cookies.get(cfg["JWT_ACCESS_COOKIE_NAME"])
    refresh = request.cookies.get(cfg["JWT_REFRESH_COOKIE_NAME"])
    if not old or not refresh:
        g.page_auth_problem = "expired"
        return None
    try:
        expired_claims = decode_token(old, allow_expired=True)
        claims = decode_token(refresh)
    except Exception:  # noqa: BLE001
        g.page_auth_problem = "expired"
        return None
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        sent = request.headers.get(cfg["JWT_ACCESS_CSRF_HEADER_NAME"]) or request.form.get(
            cfg["JWT_ACCESS_CSRF_FIELD_NAME"])
        if not sent or sent != expired_claims.get("csrf"):
            return None
    if claims.get("type") != "refresh" or claims_revoked(claims):
        g.page_auth_problem = "expired"
        return None
    if claims["sub"] != expired_claims.get("sub"):
        return None
    user = _admitted(claims, db.session.get(User, uuid.UUID(claims["sub"])))
    if user is None:
        return None
    token = access_token_for_login(user, claims)

    @after_this_request
    def _set(resp):
        set_access_cookies(resp, token)
        return resp

    return user


def login_required(*permissions: str) -> Callable:
    """Pages that need a user: anonymous visitors go to the login page and come back after."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            user = page_user()
            if user is None:
                reason = getattr(g, "page_auth_problem", None)
                return go(url_for("pages.login", next=request.full_path.rstrip("?"),
                                  reason=reason))
            if permissions:
                check_permissions(user, permissions)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def safe_next(target: str | None) -> str:
    """Only same-origin relative paths are followed after login: one leading `/` and then no
    `/` or `\\` (browsers read `/\\evil.example` as `//evil.example`, another site), no
    control characters or spaces (browsers drop tabs and newlines from URLs: `/%09/evil`), and
    nothing a URL parser reads as a scheme or a host — checked on the value and once more
    percent-decoded, in case something on the way decodes it again."""
    if not target or len(target) > 2000:
        return "/"
    for form, lowest in ((target, 0x21), (unquote(target), 0x20)):  # decoded: spaces are fine
        if (not form.startswith("/") or form[1:2] in ("/", "\\")
                or any(ch == "\\" or ord(ch) < lowest or ch == "\x7f" for ch in form)):
            return "/"
        parsed = urlparse(form)
        if parsed.scheme or parsed.netloc:
            return "/"
    return target
