"""Tasks: create, read, update, soft delete, history, and the serializers pages reuse.

Field rules live in `app.services.validation` (title, priority 0-10, tags, metadata, durations);
how a task runs (CONTRACT §3): `executor` "claude" (default) or "shell", `command` required for
shell, `working_directory` relative to the project workspace, checked by `workspace.resolve`.
Status moves only along `task_status.TRANSITIONS`; by hand only along `task_status.check_manual`
(`queued` and `running` are the engine's: POST .../execute), and a task with a live (queued or
running) execution changes status, how it runs, or is deleted only after the engine has
finished or cancelled it.
Every change is one audit entry per field and one event before the commit.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from app.errors import AppError, ValidationFailed, iso, utcnow
from app.extensions import db
from app.models.audit import AuditLog
from app.models.execution import TaskExecution
from app.models.project import Project
from app.models.task import EXECUTORS, Task, TaskDependency
from app.models.user import User
from app.services import agent_settings, audit, events, validation, workspace
from app.services.access import get_project, get_task
from app.services.durations import format_duration
from app.services.projects import limits_of, user_can_access
from app.services.task_status import change_status, check_manual

# Fields a client may set, in the order they are validated.
FIELDS = ("title", "description", "priority", "progress_percentage", "estimated_duration",
          "assigned_to", "tags", "metadata", "executor", "command", "working_directory")
RUN_FIELDS = ("executor", "command", "working_directory")


# ---------------------------------------------------------------- serializers

def task_summary(task: Task) -> dict[str, Any]:
    """A task in lists: the reference's list fields plus project, tags and how it runs."""
    return {
        "id": str(task.id), "project_id": str(task.project_id), "title": task.title,
        "status": task.status, "priority": task.priority,
        "progress_percentage": task.progress_percentage,
        "assigned_to": str(task.assigned_to) if task.assigned_to else None,
        "tags": task.tags, "executor": task.executor,
        "created_at": iso(task.created_at), "updated_at": iso(task.updated_at),
    }


def task_dict(task: Task, detail: bool = False) -> dict[str, Any]:
    """The full public task (create/update responses, event data); `detail` adds
    dependencies and history as the reference's Get Task Details shows."""
    out = {
        **task_summary(task),
        "description": task.description,
        "estimated_duration": format_duration(task.estimated_duration),
        "actual_duration": format_duration(task.actual_duration),
        "created_by": str(task.created_by),
        "started_at": iso(task.started_at), "completed_at": iso(task.completed_at),
        "metadata": dict(task.meta or {}),
        "command": task.command, "working_directory": task.working_directory,
    }
    if detail:
        out["dependencies"] = [dependency_dict(d) for d in _dependencies(task.id)]
        out["history"] = [{"timestamp": iso(e.created_at), "action": e.action,
                           "field": e.field, "old_value": e.old_value,
                           "new_value": e.new_value,
                           "user_id": str(e.user_id) if e.user_id else None}
                          for e in audit.history("task", task.id)]
    return out


def dependency_dict(dep: TaskDependency) -> dict[str, Any]:
    other = dep.depends_on
    return {"id": str(dep.id), "task_id": str(dep.task_id),
            "depends_on_task_id": str(dep.depends_on_task_id),
            "dependency_type": dep.dependency_type, "created_at": iso(dep.created_at),
            "task": {"title": other.title, "status": other.status}}


def _dependencies(task_id: uuid.UUID) -> list[TaskDependency]:
    return list(db.session.scalars(select(TaskDependency).where(TaskDependency.task_id == task_id)
                                   .order_by(TaskDependency.created_at, TaskDependency.id)))


# ---------------------------------------------------------------- validation

def clean_fields(data: dict[str, Any], project: Project) -> dict[str, Any]:
    """Validate and normalize the given task fields; returns model attribute values."""
    out: dict[str, Any] = {}
    for field in FIELDS:
        if field not in data:
            continue
        value = data[field]
        if field == "title":
            out["title"] = validation.text("title", value, min_length=1,
                                           max_length=validation.TITLE_MAX)
        elif field == "description":
            out["description"] = validation.text("description", value, strip=False,
                                                 max_length=validation.DESCRIPTION_MAX)
        elif field == "priority":
            out["priority"] = validation.integer("priority", value, validation.PRIORITY_MIN,
                                                 validation.PRIORITY_MAX)
        elif field == "progress_percentage":
            out["progress_percentage"] = validation.integer(field, value, 0, 100)
        elif field == "estimated_duration":
            out["estimated_duration"] = validation.duration(field, value)
        elif field == "assigned_to":
            out["assigned_to"] = _assignee(value, project)
        elif field == "tags":
            out["tags"] = validation.tags(value)
        elif field == "metadata":
            out["meta"] = validation.json_object("metadata", value)
            agent_settings.validate(out["meta"].get("claude"), "metadata.claude")
        elif field == "executor":
            if value not in EXECUTORS:
                raise ValidationFailed("executor", f"one of {', '.join(EXECUTORS)}")
            out["executor"] = value
        elif field == "command":
            out["command"] = validation.text("command", value, strip=False,
                                             max_length=validation.COMMAND_MAX) or None
        elif field == "working_directory":
            out["working_directory"] = workspace.relative_to_workspace(project.id, value)
    return out


def _assignee(value: Any, project: Project) -> uuid.UUID | None:
    user_id = validation.uuid_value("assigned_to", value)
    if user_id is None:
        return None
    if db.session.get(User, user_id) is None:
        raise ValidationFailed("assigned_to", f"unknown user id {user_id}")
    if not user_can_access(project, user_id):
        raise ValidationFailed("assigned_to", "this user has no access to the project")
    return user_id


def _check_run_fields(executor: str, command: str | None) -> None:
    if executor == "shell" and not (command or "").strip():
        raise ValidationFailed("command", "required when executor is shell",
                               code="VALIDATION_REQUIRED_FIELD")


def check_capacity(project: Project, adding: int = 1) -> None:
    """409 PROJECT_LIMIT_EXCEEDED when `adding` more tasks would pass `max_tasks`."""
    limit = limits_of(project)["max_tasks"]
    live = db.session.scalar(select(func.count()).select_from(Task).where(
        Task.project_id == project.id, Task.deleted_at.is_(None))) or 0
    if live + adding > limit:
        raise AppError("PROJECT_LIMIT_EXCEEDED",
                       f"Project '{project.name}' has {live} of at most {limit} tasks",
                       {"limit": "max_tasks", "max_tasks": limit, "current": live})


def lock_project(project: Project) -> None:
    """Serialize limit checks of one project (row lock on PostgreSQL; SQLite has one writer)."""
    db.session.execute(select(Project.id).where(Project.id == project.id).with_for_update())


def has_live_execution(task_id: uuid.UUID) -> bool:
    return db.session.scalar(select(func.count()).select_from(TaskExecution).where(
        TaskExecution.task_id == task_id, TaskExecution.status.in_(("queued", "running")))) > 0


# ---------------------------------------------------------------- create / read

def create_task(user: User, data: dict[str, Any], *, commit: bool = True) -> Task:
    """A new pending task in a project `user` may write to, within its `max_tasks`."""
    if data.get("project_id") is None:
        raise ValidationFailed("project_id", "Field is required", code="VALIDATION_REQUIRED_FIELD")
    project_id = validation.uuid_value("project_id", data["project_id"])
    project = get_project(project_id, user, write=True)
    if "title" not in data:
        raise ValidationFailed("title", "Field is required", code="VALIDATION_REQUIRED_FIELD")
    values = clean_fields(data, project)
    values.setdefault("executor", "claude")
    _check_run_fields(values["executor"], values.get("command"))
    lock_project(project)
    check_capacity(project)
    tags = values.pop("tags", [])
    task = Task(id=uuid.uuid4(), project_id=project.id, created_by=user.id, status="pending",
                **values)
    task.tags = tags
    db.session.add(task)
    db.session.flush()
    public = task_dict(task)
    audit.record("task", task.id, "created", user_id=user.id, project_id=project.id,
                 details={"initial_data": {k: public[k] for k in (
                     "title", "status", "priority", "assigned_to", "tags", "executor")}})
    events.emit("task.created", public, project_id=project.id, task_id=task.id,
                user_id=user.id)
    if commit:
        db.session.commit()
    return task


def task_detail(task_id: uuid.UUID, user: User) -> dict[str, Any]:
    return task_dict(get_task(task_id, user), detail=True)


# ---------------------------------------------------------------- update / delete

def update_task(task_id: uuid.UUID, user: User, changes: dict[str, Any]) -> Task:
    """Apply the given fields; `status` moves along the allowed transitions only."""
    task = get_task(task_id, user, write=True, for_update=True)
    project = db.session.get(Project, task.project_id)
    unknown = set(changes) - set(FIELDS) - {"status"}
    if unknown:
        raise ValidationFailed(sorted(unknown)[0], "Unknown field")
    values = clean_fields(changes, project)
    if any(f in values for f in RUN_FIELDS) and has_live_execution(task.id):
        raise AppError("TASK_ALREADY_RUNNING", "How a task runs cannot change while it is "
                       "queued or running", {"status": task.status})
    _check_run_fields(values.get("executor", task.executor),
                      values.get("command", task.command))
    if "status" in changes:
        prepare_manual_status(task, changes["status"])
    progress = values.pop("progress_percentage", None)
    changed = apply_values(task, values, user)
    status_changed = "status" in changes and change_status(task, changes["status"], user.id)
    if progress is not None:  # after the status: an explicit value beats the status default
        changed |= apply_values(task, {"progress_percentage": progress}, user)
    if changed or status_changed:
        task.updated_at = utcnow()
    if changed:
        events.emit("task.updated", {**task_dict(task), "changes": sorted(changed)},
                    project_id=task.project_id, task_id=task.id, user_id=user.id)
    db.session.commit()
    return task


def prepare_manual_status(task: Task, new: Any) -> None:
    """Checks for a status set by a person (PUT, bulk, pages): the manual rule of
    `task_status.check_manual`, then no live execution (cancel it first)."""
    check_manual(task, new)
    if new != task.status and has_live_execution(task.id):
        raise AppError("TASK_ALREADY_RUNNING", "This task has a queued or running execution; "
                       "cancel it with POST /api/tasks/{id}/cancel", {"status": task.status})


def apply_values(task: Task, values: dict[str, Any], user: User) -> set[str]:
    """Set attributes, auditing each one that really changes; returns the changed names."""
    changed: set[str] = set()
    for attr, value in values.items():
        field = "metadata" if attr == "meta" else attr
        old = task.tags if attr == "tags" else getattr(task, attr)
        if old == value:
            continue
        setattr(task, attr, value)
        changed.add(field)
        audit.record("task", task.id, "updated", user_id=user.id, field=field,
                     old=_audit_value(field, old), new=_audit_value(field, value),
                     project_id=task.project_id)
    return changed


def _audit_value(field: str, value: Any) -> Any:
    if field in ("estimated_duration", "actual_duration"):
        return format_duration(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def delete_task(task_id: uuid.UUID, user: User) -> dict[str, Any]:
    task = get_task(task_id, user, write=True, for_update=True)
    deleted_at = soft_delete(task, user)
    db.session.commit()
    return {"message": "Task deleted successfully", "deleted_at": iso(deleted_at)}


def soft_delete(task: Task, user: User) -> Any:
    """Mark deleted (kept for the audit trail) and drop the dependency edges that touch it, so
    no task waits forever on a deleted one. Refused while an execution is queued or running."""
    if has_live_execution(task.id):
        raise AppError("TASK_ALREADY_RUNNING", "Cancel the task before deleting it",
                       {"status": task.status})
    now = utcnow()
    edges = list(db.session.scalars(select(TaskDependency).where(
        (TaskDependency.task_id == task.id) | (TaskDependency.depends_on_task_id == task.id))))
    for edge in edges:
        if edge.task_id != task.id:
            audit.record("task", edge.task_id, "dependency_removed", user_id=user.id,
                         old=str(task.id), project_id=task.project_id,
                         details={"reason": "task deleted", "dependency_id": str(edge.id)})
        db.session.delete(edge)
    task.deleted_at = now
    task.updated_at = now
    audit.record("task", task.id, "deleted", user_id=user.id, project_id=task.project_id,
                 details={"title": task.title, "status": task.status})
    events.emit("task.deleted", {**task_dict(task), "deleted_at": iso(now)},
                project_id=task.project_id, task_id=task.id, user_id=user.id)
    return now


# ---------------------------------------------------------------- history

def task_history(task_id: uuid.UUID, user: User) -> dict[str, Any]:
    """Every change of a task, oldest first, with who made it."""
    task = get_task(task_id, user)
    rows = db.session.execute(
        select(AuditLog, User.full_name, User.username)
        .outerjoin(User, User.id == AuditLog.user_id)
        .where(AuditLog.entity_type == "task", AuditLog.entity_id == task.id)
        .order_by(AuditLog.created_at, AuditLog.id)).all()
    return {"task_id": str(task.id), "history": [history_entry(e, full, username)
                                                 for e, full, username in rows]}


def history_entry(entry: AuditLog, full_name: str | None = None,
                  username: str | None = None) -> dict[str, Any]:
    details = dict(entry.details or {})
    if entry.action != "created":
        details.update({"field": entry.field, "old_value": entry.old_value,
                        "new_value": entry.new_value})
    return {"id": str(entry.uid), "timestamp": iso(entry.created_at), "action": entry.action,
            "user_id": str(entry.user_id) if entry.user_id else None,
            "user_name": full_name or username, "details": details}
