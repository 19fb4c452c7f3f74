"""Profile and preferences: theme applied at once and remembered, time zone for every time shown."""

from __future__ import annotations

from flask import request
from pydantic import ValidationError

from app.api.users import PreferencesBody
from app.api.validation import describe
from app.pages import bp
from app.pages.auth import login_required, page_user
from app.pages.htmx import render
from app.services import users as user_service

COMMON_ZONES = ("UTC", "Europe/London", "Europe/Berlin", "Europe/Lisbon", "America/New_York",
                "America/Chicago", "America/Los_Angeles", "America/Sao_Paulo", "Asia/Tokyo",
                "Asia/Kolkata", "Asia/Singapore", "Australia/Sydney")


def _form_context(user, errors=None, saved=False):
    return {"profile": user_service.profile(user), "zones": COMMON_ZONES, "errors": errors or {},
            "saved": saved}


@bp.get("/profile")
@login_required()
def profile():
    return render("pages/profile/index.html", **_form_context(page_user()))


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
