"""Administration: users (list, create, disable/enable, set password) and the maintenance switch.
Admins only."""

from __future__ import annotations

import uuid

from flask import request

from app.errors import AppError
from app.pages import bp
from app.pages.auth import login_required, page_user
from app.pages.htmx import render
from app.request_hooks import maintenance_exempt
from app.services import system as system_service
from app.services import users as user_service


def _context(**extra):
    return {"users": user_service.list_users(),
            "maintenance": system_service.maintenance_state(fresh=True), **extra}


@bp.get("/admin")
@login_required("admin")
def admin():
    return render("pages/admin/index.html", **_context())


@bp.post("/admin/users")
@login_required("admin")
def admin_create_user():
    form = request.form
    try:
        user_service.create_user(
            form.get("username", "").strip(), form.get("password", ""),
            email=form.get("email") or None, role=form.get("role", "developer"),
            tier=form.get("tier", "standard"), full_name=form.get("full_name") or None,
            actor=page_user())
    except AppError as exc:
        return render("pages/admin/index.html", "partials/admin/_users.html",
                      **_context(create_error=exc.message, form=form))
    return render("pages/admin/index.html", "partials/admin/_users.html",
                  **_context(created=form.get("username")))


@bp.post("/admin/users/<uuid:user_id>/<any(disable, enable):action>")
@login_required("admin")
def admin_toggle_user(user_id: uuid.UUID, action: str):
    actor = page_user()
    target = user_service.get_user(user_id)
    if target.id == actor.id:
        return render("pages/admin/index.html", "partials/admin/_users.html",
                      **_context(create_error="You cannot disable your own account."))
    user_service.set_disabled(target, action == "disable", actor=actor)
    return render("pages/admin/index.html", "partials/admin/_users.html", **_context())


@bp.post("/admin/users/password")
@login_required("admin")
def admin_set_password():
    """Another user's new password; all their sessions end. Your own: on the profile page,
    which asks for the current password."""
    actor = page_user()
    try:
        target = user_service.get_user(uuid.UUID(request.form.get("user_id", "")))
    except (ValueError, AppError):
        target = None
    if target is None or target.id == actor.id:
        error = ("Change your own password on your profile page." if target is not None
                 else "Pick a user.")
        return _users(password_error=error)
    try:
        user_service.set_password(target, request.form.get("password", ""), actor=actor)
    except AppError as exc:
        return _users(password_error=exc.message)
    return _users(password_set=target.username)


def _users(**extra):
    return render("pages/admin/index.html", "partials/admin/_users.html", **_context(**extra))


@bp.post("/admin/maintenance")
@login_required("admin")
@maintenance_exempt
def admin_maintenance():
    on = request.form.get("enabled") == "1"
    system_service.set_maintenance(on, request.form.get("message") or None,
                                   by=page_user().username)
    return render("pages/admin/index.html", "partials/admin/_maintenance.html", **_context())
