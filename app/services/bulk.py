"""Bulk task operations: one request, many tasks, each succeeding or failing on its own.

The operation's `data` is checked once (a bad value is a 422 for the whole request, nothing
changed). Then every id goes through the same rules as a single-task request: it must exist,
be visible, its project writable, and the change allowed for that task (transitions, running
tasks, tag limits, assignee access). Every rule is checked before the task is touched, so a
failure leaves that task as it was; the successful ones are committed together, each with its
own history entries and event. At most MAX_IDS ids per request.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from app.errors import AppError, ValidationFailed, utcnow
from app.extensions import db
from app.models.project import Project
from app.models.task import Task
from app.models.user import User
from app.services import events, validation
from app.services.access import can_access, check_writable
from app.services.projects import user_can_access
from app.services.task_status import MANUAL_STATUSES, change_status
from app.services.tasks import (
    apply_values,
    prepare_manual_status,
    soft_delete,
    task_dict,
)

OPERATIONS = ("update_status", "assign", "add_tags", "remove_tags", "delete", "set_priority")
MAX_IDS = 500
_DATA_KEYS = {"update_status": ({"status"}, {"progress_percentage"}),
              "assign": ({"assigned_to"}, set()), "add_tags": ({"tags"}, set()),
              "remove_tags": ({"tags"}, set()), "delete": (set(), set()),
              "set_priority": ({"priority"}, set())}


def clean_data(operation: str, data: dict[str, Any] | None) -> dict[str, Any]:
    """The operation's parameters, validated once for all tasks."""
    if operation not in OPERATIONS:
        raise ValidationFailed("operation", f"one of {', '.join(OPERATIONS)}")
    data = data or {}
    required, optional = _DATA_KEYS[operation]
    for key in sorted(required - set(data)):
        raise ValidationFailed(f"data.{key}", "Field is required",
                               code="VALIDATION_REQUIRED_FIELD")
    for key in sorted(set(data) - required - optional):
        raise ValidationFailed(f"data.{key}", f"Unknown field for {operation}")
    out: dict[str, Any] = {}
    if operation == "update_status":
        if data["status"] not in MANUAL_STATUSES:  # queued/running: only executions set them
            raise ValidationFailed("data.status", f"one of {', '.join(MANUAL_STATUSES)} "
                                   "(queued and running come only from executing a task)")
        out["status"] = data["status"]
        if "progress_percentage" in data:
            out["progress_percentage"] = validation.integer(
                "data.progress_percentage", data["progress_percentage"], 0, 100)
    elif operation == "assign":
        out["assigned_to"] = validation.uuid_value("data.assigned_to", data["assigned_to"])
        if out["assigned_to"] and db.session.get(User, out["assigned_to"]) is None:
            raise ValidationFailed("data.assigned_to", f"unknown user id {out['assigned_to']}")
    elif operation in ("add_tags", "remove_tags"):
        out["tags"] = validation.tags(data["tags"], "data.tags", limit=validation.TAGS_MAX)
        if not out["tags"]:
            raise ValidationFailed("data.tags", "at least one tag",
                                   code="VALIDATION_VALUE_TOO_SHORT")
    elif operation == "set_priority":
        out["priority"] = validation.integer("data.priority", data["priority"],
                                             validation.PRIORITY_MIN, validation.PRIORITY_MAX)
    return out


def run_bulk(user: User, operation: str, task_ids: list[Any],
             data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Apply `operation` to each task; report which succeeded and why the others failed."""
    if not task_ids:
        raise ValidationFailed("task_ids", "at least one task id",
                               code="VALIDATION_VALUE_TOO_SHORT")
    if len(task_ids) > MAX_IDS:
        raise ValidationFailed("task_ids", f"at most {MAX_IDS} ids per request",
                               code="VALIDATION_VALUE_TOO_LONG")
    params = clean_data(operation, data)
    successful: list[str] = []
    errors: list[dict[str, Any]] = []
    ids = _parse_ids(task_ids, errors)
    tasks = {t.id: t for t in db.session.scalars(select(Task).where(Task.id.in_(ids)))}
    projects = {p.id: p for p in db.session.scalars(
        select(Project).where(Project.id.in_({t.project_id for t in tasks.values()})))}
    for task_id in ids:
        try:
            task = _usable(tasks.get(task_id), projects, user)
            _apply(operation, params, task, projects[task.project_id], user)
        except AppError as exc:
            errors.append({"task_id": str(task_id), "code": exc.code, "message": exc.message})
        else:
            successful.append(str(task_id))
    db.session.commit()
    return {"operation": operation, "affected_count": len(successful),
            "successful": successful, "failed": [e["task_id"] for e in errors],
            "errors": errors}


def _parse_ids(raw: list[Any], errors: list[dict[str, Any]]) -> list[uuid.UUID]:
    ids: list[uuid.UUID] = []
    for value in raw:
        try:
            ids.append(uuid.UUID(str(value)))
        except ValueError:
            errors.append({"task_id": str(value), "code": "VALIDATION_INVALID_FORMAT",
                           "message": "Not a task id (UUID)"})
    return list(dict.fromkeys(ids))


def _usable(task: Task | None, projects: dict[uuid.UUID, Project], user: User) -> Task:
    """The single-task rules: exists, visible, project writable."""
    if task is None or task.deleted_at is not None:
        raise AppError("TASK_NOT_FOUND")
    project = projects.get(task.project_id)
    if project is None or project.deleted_at is not None:
        raise AppError("TASK_NOT_FOUND")
    if not can_access(user, project):
        raise AppError("PROJECT_ACCESS_DENIED")
    check_writable(project)
    return task


def _apply(operation: str, params: dict[str, Any], task: Task, project: Project,
           user: User) -> None:
    values: dict[str, Any] = {}
    if operation == "delete":
        soft_delete(task, user)
        return
    if operation == "update_status":
        prepare_manual_status(task, params["status"])
        change_status(task, params["status"], user.id)
        if "progress_percentage" in params:
            values["progress_percentage"] = params["progress_percentage"]
    elif operation == "assign":
        assignee = params["assigned_to"]
        if assignee is not None and not user_can_access(project, assignee):
            raise AppError("VALIDATION_ERROR", "The assignee has no access to this task's "
                           "project", {"field": "data.assigned_to", "issue": "no access"})
        values["assigned_to"] = assignee
    elif operation == "add_tags":
        merged = list(dict.fromkeys([*task.tags, *params["tags"]]))
        if len(merged) > validation.TAGS_MAX:
            raise AppError("VALIDATION_VALUE_TOO_LONG", f"The task would have {len(merged)} "
                           f"tags; at most {validation.TAGS_MAX}",
                           {"field": "data.tags", "issue": "too many tags"})
        values["tags"] = merged
    elif operation == "remove_tags":
        values["tags"] = [t for t in task.tags if t not in params["tags"]]
    elif operation == "set_priority":
        values["priority"] = params["priority"]
    changed = apply_values(task, values, user)
    if changed:
        task.updated_at = utcnow()
        events.emit("task.updated", {**task_dict(task), "changes": sorted(changed),
                                     "bulk": operation},
                    project_id=task.project_id, task_id=task.id, user_id=user.id)
