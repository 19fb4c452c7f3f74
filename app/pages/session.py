"""Login and logout pages.

Attempts go through the same service as the API login, so the per-account back-off applies to
both; POST /login also counts towards the anonymous per-IP rate limit of the API (app.ratelimit).
A refusal re-renders the form with the message: with status 200 for htmx (htmx 2 does not swap
4xx/5xx bodies, STACK.md), with the real status (429, 503) and Retry-After for a plain form post.
"""

from __future__ import annotations

from flask import current_app, make_response, render_template, request
from flask_jwt_extended import set_access_cookies, set_refresh_cookies, unset_jwt_cookies

from app.errors import AppError
from app.pages import bp
from app.pages.auth import page_user, safe_next
from app.pages.htmx import go
from app.request_hooks import retry_after as keep_retry_after
from app.services import auth as auth_service
from app.services.login_throttle import LoginThrottled

REASONS = {
    "expired": "Your session has expired. Please log in again.",
    "disabled": "This account is disabled. Ask an administrator to enable it.",
    "changed": "Your password was changed, so every session was logged out. Please log in "
               "again.",
}
MESSAGES = {
    "AUTH_INVALID_CREDENTIALS": "Wrong username or password.",
    "AUTH_ACCOUNT_DISABLED": REASONS["disabled"],
    "SYSTEM_OVERLOADED": "Logging in is unavailable for a moment (the session store is not "
                         "answering). Try again shortly.",
}


@bp.get("/login")
def login():
    if page_user() is not None:
        return go(safe_next(request.args.get("next")))
    notice = REASONS.get(request.args.get("reason", ""))
    return render_template("pages/auth/login.html", notice=notice,
                           next=safe_next(request.args.get("next")))


@bp.post("/login")
def login_submit():
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    target = safe_next(request.form.get("next"))
    try:
        if not username or not password:
            raise AppError("VALIDATION_REQUIRED_FIELD", "Enter your username and password.")
        tokens = auth_service.login(username, password)
    except LoginThrottled as exc:
        return login_refused(exc.message, exc.status, exc.retry_after, username)
    except AppError as exc:
        status = exc.status if exc.code == "SYSTEM_OVERLOADED" else 200
        return login_refused(MESSAGES.get(exc.code, exc.message), status, None, username)
    resp = go(target)
    set_access_cookies(resp, tokens["access_token"])
    set_refresh_cookies(resp, tokens["refresh_token"])
    return resp


def login_refused(message: str, status: int, retry_after: int | None = None,
                  username: str | None = None):
    """The login form again with `message` (also what a per-IP 429 on POST /login shows)."""
    if username is None:
        username = request.form.get("username", "").strip()
    html = render_template("pages/auth/login.html", error=message, username=username,
                           next=safe_next(request.form.get("next")))
    resp = make_response(html, 200 if request.headers.get("HX-Request") == "true" else status)
    return keep_retry_after(resp, retry_after) if retry_after else resp


@bp.post("/logout")
def logout():
    cfg = current_app.config
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-TOKEN")
    if not sent or sent != request.cookies.get(cfg["JWT_ACCESS_CSRF_COOKIE_NAME"]):
        return go("/")  # a cross-site form cannot log anyone out
    for name in (cfg["JWT_ACCESS_COOKIE_NAME"], cfg["JWT_REFRESH_COOKIE_NAME"]):
        token = request.cookies.get(name)
        if token:
            auth_service.revoke_encoded(token)
    resp = go("/login")
    unset_jwt_cookies(resp)
    return resp
