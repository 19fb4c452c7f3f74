"""Login and logout pages."""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_jwt_extended import set_access_cookies, set_refresh_cookies, unset_jwt_cookies

from app.errors import AppError
from app.pages import bp
from app.pages.auth import page_user, safe_next
from app.pages.htmx import go
from app.services import auth as auth_service

REASONS = {
    "expired": "Your session has expired. Please log in again.",
    "disabled": "This account is disabled. Ask an administrator to enable it.",
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
    except AppError as exc:
        message = {
            "AUTH_INVALID_CREDENTIALS": "Wrong username or password.",
            "AUTH_ACCOUNT_DISABLED": REASONS["disabled"],
        }.get(exc.code, exc.message)
        # 200 with the form again: htmx 2 does not swap 4xx bodies (STACK.md).
        return render_template("pages/auth/login.html", error=message, username=username,
                               next=target)
    resp = go(target)
    set_access_cookies(resp, tokens["access_token"])
    set_refresh_cookies(resp, tokens["refresh_token"])
    return resp


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
