"""Who may see and change which project (CONTRACT §2), in one place for API, pages and sockets.

A project is visible to its owner, its members (`project_members`, mirrored from
`settings.members`) and admins. Everyone else gets 403 PROJECT_ACCESS_DENIED for it and for
everything in it. Role permissions (viewer = read only) are checked by the route decorators;
these helpers add the per-project rules: existence, membership, archived = read-only.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, exists, or_, select, true

from app.errors import AppError
from app.extensions import db
from app.models.project import Project, ProjectMember
from app.models.task import Task
from app.models.user import User


def visible_projects(user: User) -> ColumnElement[bool]:
    """A WHERE clause on `Project` selecting what `user` may see (deleted ones excluded)."""
    alive = Project.deleted_at.is_(None)
    if user.is_admin:
        return alive & true()
    member = exists().where(ProjectMember.project_id == Project.id,
                            ProjectMember.user_id == user.id)
    return alive & or_(Project.created_by == user.id, member)


def visible_project_ids(user: User):
    """A subquery of the project ids `user` may see, for filtering tasks, commands, sessions."""
    return select(Project.id).where(visible_projects(user)).scalar_subquery()


def can_access(user: User, project: Project) -> bool:
    if project.deleted_at is not None:
        return False
    return user.is_admin or project.created_by == user.id or user.id in project.member_ids


def check_writable(project: Project) -> None:
    if project.status == "archived":
        raise AppError("PROJECT_ARCHIVED", f"Project '{project.name}' is archived and read-only")


def get_project(project_id: uuid.UUID, user: User, *, write: bool = False) -> Project:
    """The project, if it exists (not deleted) and `user` may use it; `write` refuses archived."""
    project = db.session.get(Project, project_id)
    if project is None or project.deleted_at is not None:
        raise AppError("PROJECT_NOT_FOUND")
    if not can_access(user, project):
        raise AppError("PROJECT_ACCESS_DENIED")
    if write:
        check_writable(project)
    return project


def get_task(task_id: uuid.UUID, user: User, *, write: bool = False,
             for_update: bool = False) -> Task:
    """The task, if it and its project exist and `user` may use them; `write` refuses archived."""
    query = select(Task).where(Task.id == task_id)
    if for_update:
        query = query.with_for_update()
    task = db.session.scalar(query)
    if task is None or task.deleted_at is not None:
        raise AppError("TASK_NOT_FOUND")
    project = db.session.get(Project, task.project_id)
    if project is None or project.deleted_at is not None:
        raise AppError("TASK_NOT_FOUND")
    if not can_access(user, project):
        raise AppError("PROJECT_ACCESS_DENIED")
    if write:
        check_writable(project)
    return task
