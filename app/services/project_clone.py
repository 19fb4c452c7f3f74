"""Cloning a project: a new project owned by the caller, optionally with its settings and tasks.

- `include_settings`: copies `settings` (members included) and `resource_limits`; otherwise the
  clone starts with empty settings and the default limits.
- `include_tasks`: copies every live task (title, description, priority, estimate, tags,
  metadata, executor, command, working directory, assignee when the assignee may see the new
  project). Copies start `pending` with no run data (progress 0, no start/end/duration).
  Dependencies between copied tasks are remapped to the copies.
- The clone gets its own empty workspace directory (files are not copied) and must fit its
  `max_tasks`. Everything lands in one commit: audit entries, `project.created` and one
  `task.created` per copy.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from app.errors import AppError
from app.extensions import db
from app.models.task import Task, TaskDependency
from app.models.user import User
from app.services import audit, events, validation
from app.services.access import can_access, get_project
from app.services.projects import create_project, default_limits, limits_of
from app.services.tasks import task_dict

COPIED = ("title", "description", "priority", "estimated_duration", "executor", "command",
          "working_directory")


def clone_project(project_id: uuid.UUID, user: User, name: Any = None,
                  include_tasks: bool = False, include_settings: bool = True):
    source = get_project(project_id, user)
    name = validation.text("name", name, max_length=validation.TITLE_MAX) or \
        f"{source.name} (copy)"[:validation.TITLE_MAX]
    settings = dict(source.settings or {}) if include_settings else None
    limits = dict(limits_of(source)) if include_settings else None
    tasks = list(db.session.scalars(select(Task).where(
        Task.project_id == source.id, Task.deleted_at.is_(None)).order_by(Task.created_at,
                                                                          Task.id))) \
        if include_tasks else []
    max_tasks = (limits or default_limits())["max_tasks"]
    if len(tasks) > max_tasks:
        raise AppError("PROJECT_LIMIT_EXCEEDED", f"The source has {len(tasks)} tasks; the "
                       f"clone allows at most {max_tasks}",
                       {"limit": "max_tasks", "max_tasks": max_tasks, "current": len(tasks)})
    clone = create_project(user, name, source.description, settings, limits, commit=False,
                           audit_details={"cloned_from": str(source.id),
                                          "include_tasks": include_tasks,
                                          "include_settings": include_settings})
    mapping = _copy_tasks(tasks, clone, user)
    _copy_dependencies(mapping, user)
    db.session.commit()
    return clone


def _copy_tasks(tasks: list[Task], clone, user: User) -> dict[uuid.UUID, Task]:
    mapping: dict[uuid.UUID, Task] = {}
    assignee_ok: dict[uuid.UUID, bool] = {}
    for original in tasks:
        copy = Task(id=uuid.uuid4(), project_id=clone.id, created_by=user.id, status="pending",
                    progress_percentage=0, meta=dict(original.meta or {}),
                    **{f: getattr(original, f) for f in COPIED})
        copy.tags = original.tags
        if original.assigned_to is not None:
            if original.assigned_to not in assignee_ok:
                assignee = db.session.get(User, original.assigned_to)
                assignee_ok[original.assigned_to] = bool(assignee and can_access(assignee,
                                                                                 clone))
            copy.assigned_to = original.assigned_to if assignee_ok[original.assigned_to] \
                else None
        db.session.add(copy)
        mapping[original.id] = copy
    db.session.flush()
    for original_id, copy in mapping.items():
        public = task_dict(copy)
        audit.record("task", copy.id, "created", user_id=user.id, project_id=clone.id,
                     details={"initial_data": {k: public[k] for k in ("title", "status",
                                                                      "priority", "tags")},
                              "cloned_from": str(original_id)})
        events.emit("task.created", public, project_id=clone.id, task_id=copy.id,
                    user_id=user.id)
    return mapping


def _copy_dependencies(mapping: dict[uuid.UUID, Task], user: User) -> None:
    if not mapping:
        return
    edges = db.session.execute(select(TaskDependency).where(
        TaskDependency.task_id.in_(list(mapping)))).scalars()
    for edge in edges:
        target = mapping.get(edge.depends_on_task_id)
        if target is None:  # pragma: no cover - same-project rule keeps edges inside
            continue
        db.session.add(TaskDependency(task_id=mapping[edge.task_id].id,
                                      depends_on_task_id=target.id,
                                      dependency_type=edge.dependency_type, created_by=user.id))
