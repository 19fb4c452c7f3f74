"""Project statistics and recent activity, computed by SQL aggregates (never stored counters).

`statistics_for(ids)` counts the live tasks of many projects by status in one grouped query (a
list page costs one query, not one per project). The detail view adds the failure count,
completion rate (completed / all live tasks) and the mean `actual_duration` of completed tasks.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, func, select

from app.errors import iso
from app.extensions import db
from app.models.audit import AuditLog
from app.models.task import TASK_STATUSES, Task
from app.models.user import User
from app.services.durations import format_duration


def statistics_for(project_ids: Iterable[uuid.UUID], detail: bool = False
                   ) -> dict[uuid.UUID, dict[str, Any]]:
    """{project_id: statistics} for every id given (zeros for projects without tasks)."""
    ids = list(project_ids)
    counts: dict[uuid.UUID, dict[str, int]] = {pid: dict.fromkeys(TASK_STATUSES, 0)
                                               for pid in ids}
    if ids:
        rows = db.session.execute(
            select(Task.project_id, Task.status, func.count())
            .where(Task.project_id.in_(ids), Task.deleted_at.is_(None))
            .group_by(Task.project_id, Task.status))
        for pid, status, n in rows:
            counts[pid][status] = n
    averages: dict[uuid.UUID, float | None] = {}
    if detail and ids:
        averages = dict(db.session.execute(
            select(Task.project_id, func.avg(Task.actual_duration))
            .where(Task.project_id.in_(ids), Task.deleted_at.is_(None),
                   Task.status == "completed", Task.actual_duration.is_not(None))
            .group_by(Task.project_id)).all())
    return {pid: _stats(c, detail, averages.get(pid)) for pid, c in counts.items()}


def _stats(c: dict[str, int], detail: bool, average: float | None) -> dict[str, Any]:
    total = sum(c.values())
    stats: dict[str, Any] = {
        "total_tasks": total, "completed_tasks": c["completed"], "pending_tasks": c["pending"],
        "queued_tasks": c["queued"], "running_tasks": c["running"],
        "failed_tasks": c["failed"], "cancelled_tasks": c["cancelled"],
    }
    if detail:
        stats["completion_rate"] = round(c["completed"] / total, 3) if total else 0.0
        stats["average_task_duration"] = format_duration(average) if average is not None \
            else None
    return stats


def recent_activity(project_id: uuid.UUID, limit: int = 10) -> list[dict[str, Any]]:
    """The project's latest audit entries, newest first, named for people:
    `task_completed`, `task_created`, `project_updated`, ..."""
    rows = db.session.execute(
        select(AuditLog, Task.title, User.full_name, User.username)
        .outerjoin(Task, and_(AuditLog.entity_type == "task", Task.id == AuditLog.entity_id))
        .outerjoin(User, User.id == AuditLog.user_id)
        .where(AuditLog.project_id == project_id)
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
        .limit(limit)).all()
    return [{
        "timestamp": iso(entry.created_at),
        "action": activity_name(entry),
        "entity_type": entry.entity_type,
        "entity_id": str(entry.entity_id),
        "task_title": title,
        "field": entry.field,
        "user_id": str(entry.user_id) if entry.user_id else None,
        "user_name": full_name or username,
    } for entry, title, full_name, username in rows]


def activity_name(entry: AuditLog) -> str:
    """`status_changed` to completed reads `task_completed`; others `<entity>_<action>`."""
    if entry.action == "status_changed" and entry.new_value:
        return f"{entry.entity_type}_{entry.new_value}"
    return f"{entry.entity_type}_{entry.action}"
