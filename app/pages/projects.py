"""Projects pages: list (search, status, pages), create/edit forms, detail with statistics,
members and limits, archive, clone and delete.

Every rule is in `app.services.projects` / `project_clone` (the API's): only the owner and
admins change or delete a project, an archived project is read-only, limits are validated there.
Refusals are shown where they happened: field errors next to the field (422, swapped by htmx),
others at the top of the form or in the actions panel.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import request
from werkzeug.datastructures import MultiDict

from app.errors import AppError, ValidationFailed
from app.models.project import PROJECT_STATUSES
from app.pages import agent_form, bp, worktrees
from app.pages.auth import login_required, page_user
from app.pages.htmx import go, render
from app.pages.page_forms import (
    active_users,
    errors_of,
    integer,
    json_object,
    pretty_json,
    rollback,
    text,
    users_by_id,
)
from app.services import project_clone, projects
from app.services.access import get_project

PAGE_SIZE = 20
LIST_PAGE = "pages/projects/index.html"
FORM_PAGE = "pages/projects/form.html"
DETAIL_PAGE = "pages/projects/detail.html"


# ---------------------------------------------------------------- list

@bp.get("/projects")
@login_required("read")
def project_list():
    args = request.args
    search = (args.get("search") or "").strip()[:200]
    status = args.get("status") if args.get("status") in PROJECT_STATUSES else None
    page = max(int(args["page"]), 1) if args.get("page", "").isdigit() else 1
    result = projects.list_projects(page_user(), search=search or None, status=status,
                                    sort="updated_at", page=page, page_size=PAGE_SIZE)
    data = projects.page_dict(result)
    return render(LIST_PAGE, "partials/projects/_list.html", result=data, search=search,
                  status_filter=status or "", statuses=PROJECT_STATUSES)


# ---------------------------------------------------------------- create / edit

def _form_data(form: MultiDict, creating: bool) -> dict[str, Any]:
    """The project fields as the service takes them (strings typed into types)."""
    data: dict[str, Any] = {"name": form.get("name", ""),
                            "description": text(form, "description")}
    limits: dict[str, Any] = {}
    for key in ("max_tasks", "max_concurrent_tasks"):
        value = integer(f"resource_limits.{key}", form.get(key))
        if value is not None:
            limits[key] = value
    if text(form, "storage_limit"):
        limits["storage_limit"] = text(form, "storage_limit")
    if "budget_present" in form:  # empty: no budget
        limits["monthly_budget_usd"] = _money("resource_limits.monthly_budget_usd",
                                              text(form, "monthly_budget_usd"))
    data["resource_limits"] = limits
    settings = json_object("settings", form.get("settings_json"))
    settings.pop("members", None)  # members come from their own picker
    if "members_present" in form:
        settings["members"] = form.getlist("members")
    if "agent_present" in form:  # the Claude agent section: its own fields
        settings["agent"] = agent_form.from_form(form, agent_form.PROJECT) or None
    if "git_present" in form:  # settings.git from its own fields
        settings["git"] = worktrees.git_form_settings(form)
    data["settings"] = settings
    if not creating and form.get("status") in PROJECT_STATUSES:
        data["status"] = form["status"]
    return data


def _money(field: str, raw: str | None) -> float | None:
    """A dollar amount typed in a form (None when empty); the service checks its range."""
    if raw is None:
        return None
    try:
        return float(raw.replace("$", "").replace(",", "").strip())
    except ValueError:
        raise ValidationFailed(field, "must be a number of US dollars, e.g. 50 or 12.5") \
            from None


def _shown(amount: float | None) -> str:
    return "" if amount is None else f"{amount:g}"


def _form_context(project: dict[str, Any] | None, form: MultiDict | None = None,
                  errors: dict[str, str] | None = None) -> dict[str, Any]:
    settings = dict((project or {}).get("settings") or {})
    members = [str(m) for m in settings.pop("members", [])]
    agent = agent_form.values(settings.pop("agent", None))  # its own fields, not the JSON
    limits = project["resource_limits"] if project else projects.default_limits()
    git = worktrees.git_form_values(settings.pop("git", None))  # its own fields, not the JSON
    values = {"name": "", "description": "", "max_tasks": "", "max_concurrent_tasks": "",
              "storage_limit": "", "settings_json": pretty_json(settings), "members": members,
              "status": "active", **git, "agent": agent,
              "monthly_budget_usd": _shown(limits.get("monthly_budget_usd"))}
    if project:
        values.update(name=project["name"], description=project["description"] or "",
                      status=project["status"], **{k: limits.get(k, "") for k in (
                          "max_tasks", "max_concurrent_tasks", "storage_limit")})
    if form is not None:
        values.update({k: form.get(k, "") for k in values if k != "members"})
        values["members"] = form.getlist("members")
        values["agent"] = agent_form.form_values(form, agent_form.PROJECT)
    owner = project["created_by"] if project else str(page_user().id)
    return {"project": project, "values": values, "errors": errors or {},
            "people": [u for u in active_users() if str(u.id) != owner],
            "statuses": PROJECT_STATUSES, **agent_form.choices()}


@bp.get("/projects/new")
@login_required("write")
def project_new():
    return render(FORM_PAGE, **_form_context(None))


@bp.post("/projects")
@login_required("write")
def project_create():
    try:
        created = projects.create_project(page_user(), **_form_data(request.form, True))
    except AppError as exc:
        rollback()
        return render(FORM_PAGE, "partials/projects/_form.html", 422, **_form_context(
            None, request.form, agent_form.field_errors(exc, agent_form.PROJECT)))
    return go(f"/projects/{created.id}")


def _owned(project_id: uuid.UUID):
    """The project, if the caller may change it (else the 403/404 page, as the API refuses)."""
    project = get_project(project_id, page_user())
    projects.check_owner(project, page_user())
    return project


@bp.get("/projects/<uuid:project_id>/edit")
@login_required("write")
def project_edit(project_id: uuid.UUID):
    return render(FORM_PAGE, **_form_context(projects.project_dict(_owned(project_id))))


@bp.post("/projects/<uuid:project_id>")
@login_required("write")
def project_update(project_id: uuid.UUID):
    user = page_user()
    current = projects.project_dict(_owned(project_id))
    try:
        projects.update_project(project_id, user, _form_data(request.form, False))
    except AppError as exc:
        rollback()
        return render(FORM_PAGE, "partials/projects/_form.html", 422, **_form_context(
            current, request.form, agent_form.field_errors(exc, agent_form.PROJECT)))
    return go(f"/projects/{project_id}")


# ---------------------------------------------------------------- detail and actions

def _detail_context(project_id: uuid.UUID, **extra: Any) -> dict[str, Any]:
    user = page_user()
    detail = projects.project_detail(project_id, user)
    members = detail["settings"].get("members", [])
    people = users_by_id([detail["created_by"], *members,
                          *(a["user_id"] for a in detail["recent_activity"])])
    owns = user.is_admin or detail["created_by"] == str(user.id)
    return {"p": detail, "people": people, "members": members,
            "can_manage": owns and user.has_permission("write"),
            "can_write": user.has_permission("write"), **extra}


@bp.get("/projects/<uuid:project_id>")
@login_required("read")
def project_detail(project_id: uuid.UUID):
    return render(DETAIL_PAGE, **_detail_context(project_id))


@bp.post("/projects/<uuid:project_id>/<any(archive, unarchive):action>")
@login_required("write")
def project_archive(project_id: uuid.UUID, action: str):
    status = "archived" if action == "archive" else "active"
    _owned(project_id)
    try:
        projects.update_project(project_id, page_user(), {"status": status})
    except AppError as exc:
        rollback()
        return render(DETAIL_PAGE, "partials/projects/_actions.html",
                      **_detail_context(project_id, action_error=exc.message))
    return go(f"/projects/{project_id}")


@bp.post("/projects/<uuid:project_id>/clone")
@login_required("write")
def project_clone_submit(project_id: uuid.UUID):
    form = request.form
    try:
        clone = project_clone.clone_project(
            project_id, page_user(), text(form, "name"),
            include_tasks=form.get("include_tasks") == "1",
            include_settings=form.get("include_settings") == "1")
    except AppError as exc:
        rollback()
        return render(DETAIL_PAGE, "partials/projects/_actions.html",
                      **_detail_context(project_id, clone_errors=errors_of(exc),
                                        clone_name=form.get("name", "")))
    return go(f"/projects/{clone.id}")


@bp.post("/projects/<uuid:project_id>/delete")
@login_required("write")
def project_delete(project_id: uuid.UUID):
    _owned(project_id)
    if request.form.get("confirm") != "yes":
        return render(DETAIL_PAGE, "partials/projects/_actions.html", **_detail_context(
            project_id, action_error="Deleting needs confirmation."))
    try:
        projects.delete_project(project_id, page_user())
    except AppError as exc:
        rollback()
        return render(DETAIL_PAGE, "partials/projects/_actions.html",
                      **_detail_context(project_id, action_error=exc.message))
    return go("/projects")
