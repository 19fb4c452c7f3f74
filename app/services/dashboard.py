"""The dashboard's figures for one user: what they may see, computed by SQL, never stored.

Task counts by status over every visible project, the runs in flight (task executions queued or
running, with their task's progress; running commands come from `commands.running`), and the
latest audit entries of visible projects plus the user's own project-less actions. Visibility
is `access.visible_project_ids`, the rule the API lists use.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, or_, select

from app.errors import iso
from app.extensions import db
from app.models.audit import AuditLog
from app.models.execution import TaskExecution
from app.models.project import Project
from app.models.task import TASK_STATUSES, Task
from app.models.user import User
from app.services.access import visible_project_ids
from app.services.project_stats import activity_name

RUNS_SHOWN = 20
ACTIVITY_SHOWN = 15


def _in_visible(column, user: User):
    return column.is_not(None) if user.is_admin else column.in_(visible_project_ids(user))


def status_counts(user: User) -> dict[str, int]:
    """{status: n} for every status (zeros included) over the user's visible live tasks."""
    rows = db.session.execute(
        select(Task.status, func.count()).where(Task.deleted_at.is_(None),
                                                _in_visible(Task.project_id, user))
        .group_by(Task.status)).all()
    counts = dict.fromkeys(TASK_STATUSES, 0)
    counts.update({status: n for status, n in rows})
    return counts


def active_runs(user: User, limit: int = RUNS_SHOWN) -> list[dict[str, Any]]:
    """Executions queued or running, running first, oldest first: with the task's progress."""
    rows = db.session.execute(
        select(TaskExecution.id, TaskExecution.status, TaskExecution.queue,
               TaskExecution.started_at, TaskExecution.created_at, TaskExecution.attempt,
               TaskExecution.task_id, Task.title, Task.progress_percentage, Project.name)
        .join(Task, Task.id == TaskExecution.task_id)
        .join(Project, Project.id == TaskExecution.project_id)
        .where(TaskExecution.status.in_(("queued", "running")),
               _in_visible(TaskExecution.project_id, user))
        .order_by((TaskExecution.status == "running").desc(), TaskExecution.created_at)
        .limit(limit)).all()
    return [{"execution_id": str(r.id), "status": r.status, "queue": r.queue,
             "started_at": iso(r.started_at), "created_at": iso(r.created_at),
             "attempt": r.attempt, "task_id": str(r.task_id), "title": r.title,
             "progress": r.progress_percentage, "project_name": r.name} for r in rows]


def recent_activity(user: User, limit: int = ACTIVITY_SHOWN) -> list[dict[str, Any]]:
    """Latest audit entries the user may see, newest first (named like project activity)."""
    if user.is_admin:
        where = AuditLog.id.is_not(None)
    else:
        where = or_(AuditLog.project_id.in_(visible_project_ids(user)),
                    and_(AuditLog.project_id.is_(None), AuditLog.user_id == user.id))
    rows = db.session.execute(
        select(AuditLog, Task.title, User.full_name, User.username)
        .outerjoin(Task, and_(AuditLog.entity_type == "task", Task.id == AuditLog.entity_id))
        .outerjoin(User, User.id == AuditLog.user_id)
        .where(where, AuditLog.entity_type.in_(("task", "project", "command", "queue")))
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc()).limit(limit)).all()
    return [{"timestamp": iso(entry.created_at), "action": activity_name(entry),
             "entity_type": entry.entity_type, "entity_id": str(entry.entity_id),
             "project_id": str(entry.project_id) if entry.project_id else None,
             "task_title": title, "details": entry.details or {},
             "user_name": full_name or username} for entry, title, full_name, username in rows]
