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
from urllib.parse import urlparse

from flask import after_this_request, current_app, g, request, url_for
from flask_jwt_extended import (
    create_access_token,
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
from app.security import check_permissions, is_revoked


def page_user() -> User | None:
    """The logged-in user of this page request, or None. Sets `g.user`."""
    if "user" in g:
        return g.user
    user = None
    try:
        verify_jwt_in_request(locations=["cookies"])
        user = db.session.get(User, uuid.UUID(get_jwt()["sub"]))
    except ExpiredSignatureError:
        user = _refresh_from_cookie()
    except (NoAuthorizationError, CSRFError, InvalidTokenError, ValueError, AppError):
        user = None
    except Exception:  # noqa: BLE001 - revoked or malformed tokens: just not logged in
        user = None
    if user is not None and user.is_disabled:
        g.page_auth_problem = "disabled"
        user = None
    g.user = user
    return user


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
    if claims.get("type") != "refresh" or is_revoked(claims["jti"]):
        g.page_auth_problem = "expired"
        return None
    if claims["sub"] != expired_claims.get("sub"):
        return None
    user = db.session.get(User, uuid.UUID(claims["sub"]))
    if user is None:
        return None
    token = create_access_token(identity=str(user.id))

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
    """Only same-site relative paths are followed after login."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target
