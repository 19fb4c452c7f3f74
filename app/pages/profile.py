"""Profile and preferences: theme applied at once and remembered, time zone for every time shown;
changing your own password."""

from __future__ import annotations

from flask import request
from flask_jwt_extended import set_access_cookies, set_refresh_cookies
from pydantic import ValidationError

from app.api.users import PreferencesBody
from app.api.validation import describe
from app.errors import AppError
from app.pages import bp
from app.pages.auth import login_required, page_user
from app.pages.htmx import go, render
from app.services import auth as auth_service
from app.services import users as user_service
from app.services.login_throttle import LoginThrottled

COMMON_ZONES = ("UTC", "Europe/London", "Europe/Berlin", "Europe/Lisbon", "America/New_York",
                "America/Chicago", "America/Los_Angeles", "America/Sao_Paulo", "Asia/Tokyo",
                "Asia/Kolkata", "Asia/Singapore", "Australia/Sydney")


def _form_context(user, errors=None, saved=False, **extra):
    return {"profile": user_service.profile(user), "zones": COMMON_ZONES, "errors": errors or {},
            "saved": saved, "password_errors": {}, **extra}


@bp.get("/profile")
@login_required()
def profile():
    return render("pages/profile/index.html", **_form_context(
        page_user(), password_changed=request.args.get("password") == "changed"))


@bp.post("/profile/preferences")
@login_required()
def save_preferences():
    user = page_user()
    form = request.form
    raw = {k: form[k] for k in ("theme", "language", "timezone") if form.get(k)}
    if "notifications_present" in form:
        raw["notifications"] = {k: k in form.getlist("notifications")
                                for k in ("email", "push", "task_updates", "project_updates")}
    try:
        changes = PreferencesBody.model_validate(raw).model_dump(exclude_none=True)
    except ValidationError as exc:
        _code, _msg, details = describe(exc)
        errors = {details["field"].split(".")[0]: details["issue"]}
        return render("pages/profile/index.html", "partials/profile/_preferences_form.html",
                      **_form_context(user, errors))
    user_service.update_preferences(user, changes)
    return render("pages/profile/index.html", "partials/profile/_preferences_form.html",
                  **_form_context(user, saved=True))


@bp.post("/profile/password")
@login_required()
def change_password():
    """Every token issued before stops working (other browsers, scripts, sockets); this browser
    is given a fresh login and reloads the page, so its live updates reconnect with it."""
    user = page_user()
    form = request.form
    try:
        user_service.change_own_password(user, form.get("current_password", ""),
                                         form.get("new_password", ""),
                                         form.get("confirm_password", ""))
    except AppError as exc:
        field = (exc.details or {}).get("field", "current_password")
        if isinstance(exc, LoginThrottled) or exc.code == "SYSTEM_OVERLOADED":
            field = "current_password"
        return render("pages/profile/index.html", "partials/profile/_password_form.html",
                      **_form_context(user, password_errors={field: exc.message}))
    tokens = auth_service.issue_tokens(user)
    resp = go("/profile?password=changed")
    set_access_cookies(resp, tokens["access_token"])
    set_refresh_cookies(resp, tokens["refresh_token"])
    return resp
