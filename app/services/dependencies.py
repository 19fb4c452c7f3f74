"""Task dependencies (CONTRACT §3): `task` waits for `depends_on` (type `blocks`).

Both tasks must be in the same project; a task cannot depend on itself or twice on the same
task; an edge that would close a cycle is a 409 TASK_DEPENDENCY_CYCLE whose details name the
cycle (task ids and titles, in order). The cycle search walks the graph breadth-first, one SQL
query per level, from the new prerequisite towards its own prerequisites. Changes of one
project's graph are serialized by a row lock on the project (PostgreSQL; SQLite has one writer).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from app.errors import AppError, ValidationFailed
from app.extensions import db
from app.models.project import Project
from app.models.task import DEPENDENCY_TYPES, Task, TaskDependency
from app.models.user import User
from app.services import audit, events
from app.services.access import get_task
from app.services.tasks import lock_project, task_dict

MAX_DEPENDENCIES = 100


def find_path(start: uuid.UUID, goal: uuid.UUID) -> list[uuid.UUID] | None:
    """The dependency chain start -> ... -> goal following existing edges, or None."""
    parents: dict[uuid.UUID, uuid.UUID | None] = {start: None}
    frontier = [start]
    while frontier:
        rows = db.session.execute(
            select(TaskDependency.task_id, TaskDependency.depends_on_task_id)
            .where(TaskDependency.task_id.in_(frontier))).all()
        frontier = []
        for source, target in rows:
            if target in parents:
                continue
            parents[target] = source
            if target == goal:
                path = [target]
                while parents[path[-1]] is not None:
                    path.append(parents[path[-1]])
                return list(reversed(path))
            frontier.append(target)
    return None


def add_dependency(task_id: uuid.UUID, user: User, depends_on_task_id: Any,
                   dependency_type: str = "blocks") -> TaskDependency:
    task = get_task(task_id, user, write=True)
    if dependency_type not in DEPENDENCY_TYPES:
        raise ValidationFailed("dependency_type", f"one of {', '.join(DEPENDENCY_TYPES)}")
    try:
        other_id = uuid.UUID(str(depends_on_task_id))
    except ValueError:
        raise ValidationFailed("depends_on_task_id", "must be a UUID",
                               code="VALIDATION_INVALID_FORMAT") from None
    if other_id == task.id:
        raise ValidationFailed("depends_on_task_id", "a task cannot depend on itself")
    other = get_task(other_id, user)
    if other.project_id != task.project_id:
        raise ValidationFailed("depends_on_task_id", "both tasks must be in the same project")
    lock_project(db.session.get(Project, task.project_id))
    existing = db.session.scalar(select(TaskDependency).where(
        TaskDependency.task_id == task.id, TaskDependency.depends_on_task_id == other.id))
    if existing is not None:
        raise AppError("RESOURCE_ALREADY_EXISTS", "This dependency already exists",
                       {"dependency_id": str(existing.id)})
    if len(task.dependencies) >= MAX_DEPENDENCIES:
        raise AppError("RESOURCE_LIMIT_EXCEEDED",
                       f"A task can depend on at most {MAX_DEPENDENCIES} tasks")
    path = find_path(other.id, task.id)
    if path is not None:
        cycle = [task.id, *path]
        titles = dict(db.session.execute(select(Task.id, Task.title)
                                         .where(Task.id.in_(cycle))).all())
        names = " -> ".join(f"'{titles[i]}'" for i in cycle)
        raise AppError("TASK_DEPENDENCY_CYCLE", f"Dependency would create a cycle: {names}",
                       {"cycle": [str(i) for i in cycle],
                        "cycle_titles": [titles[i] for i in cycle]})
    dep = TaskDependency(task_id=task.id, depends_on_task_id=other.id,
                         dependency_type=dependency_type, created_by=user.id)
    db.session.add(dep)
    db.session.flush()
    audit.record("task", task.id, "dependency_added", user_id=user.id, field="dependencies",
                 new=str(other.id), project_id=task.project_id,
                 details={"dependency_id": str(dep.id), "dependency_type": dependency_type})
    _emit(task, user)
    db.session.commit()
    return dep


def remove_dependency(task_id: uuid.UUID, user: User, dependency_id: uuid.UUID) -> None:
    task = get_task(task_id, user, write=True)
    dep = db.session.get(TaskDependency, dependency_id)
    if dep is None or dep.task_id != task.id:
        raise AppError("RESOURCE_NOT_FOUND", "This task has no such dependency")
    audit.record("task", task.id, "dependency_removed", user_id=user.id, field="dependencies",
                 old=str(dep.depends_on_task_id), project_id=task.project_id,
                 details={"dependency_id": str(dep.id)})
    db.session.delete(dep)
    db.session.flush()
    _emit(task, user)
    db.session.commit()


def _emit(task: Task, user: User) -> None:
    db.session.expire(task, ["dependencies"])
    events.emit("task.updated", {**task_dict(task), "changes": ["dependencies"]},
                project_id=task.project_id, task_id=task.id, user_id=user.id)

