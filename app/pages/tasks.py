"""Task pages: create and edit forms, the task page (details, history timeline, dependencies,
executions) and delete. Running a task (execute/cancel/retry), its dependencies and the task
picker are in `task_actions`.

The services are the API's (`app.services.tasks`, `dependencies`): they validate every field,
enforce project access, archived projects and limits, write the history and emit the events.
The page only turns form strings into typed values; on edit it sends only the fields that
changed, because how a task runs cannot change while it is queued or running, even to the same
value.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from flask import request
from werkzeug.datastructures import MultiDict

from app.errors import AppError, ValidationFailed
from app.models.task import EXECUTORS
from app.pages import agent_form, bp
from app.pages.auth import login_required, page_user
from app.pages.htmx import go, render
from app.pages.page_forms import (
    integer,
    json_object,
    pretty_json,
    project_people,
    rollback,
    tag_list,
    text,
    users_by_id,
)
from app.services import cost_analytics, dependencies, executions, projects, tasks
from app.services.access import get_project, get_task
from app.services.durations import format_duration, run_seconds
from app.services.task_status import ACTIVE, manual_targets

FORM_PAGE = "pages/tasks/form.html"
DETAIL_PAGE = "pages/tasks/detail.html"
EXECUTIONS_SHOWN = 20


@bp.app_template_filter("seconds_since")
def seconds_since(value: str | None) -> float | None:
    """Seconds from an ISO time of a service dict until now (a running task's time so far,
    the base `static/js/live_time.js` keeps counting from)."""
    return run_seconds(datetime.fromisoformat(value.replace("Z", "+00:00")), None) \
        if value else None


@bp.app_template_filter("hms")
def hms(seconds: float | None) -> str:
    """Seconds as the API writes durations (HH:MM:SS), "—" for none."""
    return format_duration(seconds) or "—"


def multiline(value: str | None) -> str | None:
    """Browsers send textarea lines as CRLF; commands and prompts keep plain LF."""
    return value.replace("\r\n", "\n") if value is not None else None


def _task_data(form: MultiDict) -> dict[str, Any]:
    """Every field of the form, typed as the service takes it."""
    data: dict[str, Any] = {
        "title": form.get("title", ""),
        "description": multiline(form.get("description")) or None,
        "executor": form.get("executor") or "claude",
        "command": multiline(form.get("command")) if (form.get("command") or "").strip()
        else None,
        "working_directory": text(form, "working_directory"),
        "estimated_duration": text(form, "estimated_duration"),
        "assigned_to": text(form, "assigned_to"),
        "tags": tag_list(form.get("tags")),
        "metadata": _metadata(form),
    }
    priority = integer("priority", form.get("priority"))
    if priority is not None:
        data["priority"] = priority
    if "status" in form:
        data["status"] = form["status"]
    if "progress_percentage" in form:  # edit form only
        progress = integer("progress_percentage", form.get("progress_percentage"))
        if progress is not None:
            data["progress_percentage"] = progress
    return data


def _metadata(form: MultiDict) -> dict[str, Any]:
    """The metadata JSON, with `claude` from the form's Claude override fields."""
    meta = json_object("metadata", form.get("metadata_json"))
    if "claude_present" in form:
        meta.pop("claude", None)
        claude = agent_form.from_form(form, agent_form.TASK)
        if claude:
            meta["claude"] = claude
    return meta


def _changed(data: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """Only what differs from the task as it is (see the module docstring)."""
    now = {**current, "description": current["description"] or None,
           "working_directory": current["working_directory"] or None}
    return {k: v for k, v in data.items() if v != now.get(k)}


def _form_context(project: dict[str, Any], task: dict[str, Any] | None,
                  form: MultiDict | None = None, errors: dict[str, str] | None = None,
                  chips: list[dict[str, str]] | None = None) -> dict[str, Any]:
    values = {"title": "", "description": "", "executor": "claude", "command": "",
              "working_directory": "", "priority": "0", "estimated_duration": "",
              "assigned_to": "", "tags": "", "metadata_json": "", "status": "pending",
              "progress_percentage": "0"}
    claude = None
    if task:
        values.update({k: "" if task.get(k) is None else str(task[k]) for k in values
                       if k in task})
        meta = dict(task["metadata"] or {})
        claude = meta.pop("claude", None)  # shown in its own fields
        values.update(tags=", ".join(task["tags"]), metadata_json=pretty_json(meta))
    values["claude"] = agent_form.values(claude)
    if form is not None:
        values.update({k: form.get(k, "") for k in values
                       if k != "claude" and (k in form or k != "status")})
        values["claude"] = agent_form.form_values(form, agent_form.TASK)
    model = get_project(uuid.UUID(project["id"]), page_user())
    status = task["status"] if task else "pending"
    # Queued/running belong to a run: not offered, and a task in one shows it read-only.
    allowed = [] if status in ACTIVE else [status, *manual_targets(status)]
    return {"p": project, "task": task, "values": values, "errors": errors or {},
            "people": project_people(model), "executors": EXECUTORS, "statuses": allowed,
            "chips": chips or [], **agent_form.choices(),
            "claude_open": any(values["claude"].values()) or any(
                k.startswith("metadata.claude") for k in errors or {}),
            "project_agent": agent_form.values((project.get("settings") or {}).get("agent"))}


def _dependency_ids(form: MultiDict, project_id: uuid.UUID) -> list[uuid.UUID]:
    """The picked prerequisites, checked before anything is written."""
    ids: list[uuid.UUID] = []
    for raw in dict.fromkeys(form.getlist("depends_on")):
        try:
            other = get_task(uuid.UUID(raw), page_user())
        except (ValueError, AppError):
            raise ValidationFailed("depends_on", "a picked task no longer exists") from None
        if other.project_id != project_id:
            raise ValidationFailed("depends_on", "both tasks must be in the same project")
        ids.append(other.id)
    return ids


def _chips(form: MultiDict) -> list[dict[str, str]]:
    """The picked prerequisites again, for a form shown back with errors."""
    found = []
    for raw in dict.fromkeys(form.getlist("depends_on")):
        try:
            found.append(tasks.task_summary(get_task(uuid.UUID(raw), page_user())))
        except (ValueError, AppError):
            continue
    return found


# ---------------------------------------------------------------- create

@bp.get("/projects/<uuid:project_id>/tasks/new")
@login_required("write")
def task_new(project_id: uuid.UUID):
    project = get_project(project_id, page_user(), write=True)
    return render(FORM_PAGE, **_form_context(projects.project_dict(project), None))


@bp.post("/projects/<uuid:project_id>/tasks")
@login_required("write")
def task_create(project_id: uuid.UUID):
    user, form = page_user(), request.form
    project = projects.project_dict(get_project(project_id, user))
    try:
        prerequisites = _dependency_ids(form, project_id)
        data = {**_task_data(form), "project_id": project_id}
        data.pop("status", None)
        task = tasks.create_task(user, data, commit=not prerequisites)
        for other in prerequisites:  # each commits; all were checked above
            dependencies.add_dependency(task.id, user, other)
    except AppError as exc:
        rollback()
        return render(FORM_PAGE, "partials/tasks/_form.html", 422, **_form_context(
            project, None, form, agent_form.field_errors(exc, agent_form.TASK), _chips(form)))
    return go(f"/tasks/{task.id}")


# ---------------------------------------------------------------- edit / delete

@bp.get("/tasks/<uuid:task_id>/edit")
@login_required("write")
def task_edit(task_id: uuid.UUID):
    task = get_task(task_id, page_user(), write=True)
    project = projects.project_dict(get_project(task.project_id, page_user()))
    return render(FORM_PAGE, **_form_context(project, tasks.task_dict(task)))


@bp.post("/tasks/<uuid:task_id>")
@login_required("write")
def task_update(task_id: uuid.UUID):
    user, form = page_user(), request.form
    current = tasks.task_dict(get_task(task_id, user))
    project = projects.project_dict(get_project(uuid.UUID(current["project_id"]), user))
    try:
        tasks.update_task(task_id, user, _changed(_task_data(form), current))
    except AppError as exc:
        rollback()
        return render(FORM_PAGE, "partials/tasks/_form.html", 422, **_form_context(
            project, current, form, agent_form.field_errors(exc, agent_form.TASK)))
    return go(f"/tasks/{task_id}")


@bp.post("/tasks/<uuid:task_id>/delete")
@login_required("write")
def task_delete(task_id: uuid.UUID):
    task = get_task(task_id, page_user())
    project_id = task.project_id
    try:
        if request.form.get("confirm") != "yes":
            raise AppError("VALIDATION_ERROR", "Deleting needs confirmation.")
        tasks.delete_task(task_id, page_user())
    except AppError as exc:
        rollback()
        return render(DETAIL_PAGE, "partials/tasks/_manage.html",
                      **detail_context(task_id, manage_error=exc.message))
    return go(f"/projects/{project_id}/board")


# ---------------------------------------------------------------- the task page

def detail_context(task_id: uuid.UUID, **extra: Any) -> dict[str, Any]:
    """Everything the task page shows; also used to re-render its fragments."""
    user = page_user()
    t = tasks.task_detail(task_id, user)
    project = projects.project_dict(get_project(uuid.UUID(t["project_id"]), user))
    history = tasks.task_history(task_id, user)["history"]
    runs = executions.list_for_task(task_id, user, 1, EXECUTIONS_SHOWN)
    return {"t": t, "p": project, "history": history, "runs": runs, "user": user,
            "archived": project["status"] == "archived",
            "cost": cost_analytics.task_costs(task_id),
            "people": users_by_id([t["assigned_to"], t["created_by"]]), **extra}


@bp.get("/tasks/<uuid:task_id>")
@login_required("read")
def task_detail(task_id: uuid.UUID):
    return render(DETAIL_PAGE, **detail_context(task_id))
