"""Task status: the allowed transitions and the one function that changes a status.

`change_status` keeps `started_at`, `completed_at`, `actual_duration` and progress right, writes
the history entry and emits the events; it does not commit (the calling service does, so the
change, its history and its events land together or not at all).
"""

from __future__ import annotations

import uuid
from typing import Any

from app.errors import AppError, iso, utcnow
from app.models.task import Task
from app.services import audit, events
from app.services.durations import format_duration

# From -> the statuses it may move to (CONTRACT §3 lifecycle, plus manual task management:
# a task can be completed by hand, re-opened, or re-run).
TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"queued", "running", "completed", "cancelled"}),
    "queued": frozenset({"running", "cancelled", "failed", "pending"}),
    "running": frozenset({"completed", "failed", "cancelled"}),
    "completed": frozenset({"pending", "queued"}),
    "failed": frozenset({"pending", "queued", "cancelled"}),
    "cancelled": frozenset({"pending", "queued"}),
}
ACTIVE = frozenset({"queued", "running"})
TERMINAL = frozenset({"completed", "failed", "cancelled"})


def can_transition(old: str, new: str) -> bool:
    return new == old or new in TRANSITIONS.get(old, frozenset())


def check_transition(task: Task, new: str) -> None:
    if not can_transition(task.status, new):
        allowed = sorted(TRANSITIONS.get(task.status, ()))
        raise AppError("TASK_INVALID_TRANSITION",
                       f"A {task.status} task cannot become {new}",
                       {"field": "status", "issue": f"allowed from {task.status}: {allowed}",
                        "from": task.status, "to": new, "allowed": allowed})


def change_status(task: Task, new: str, user_id: uuid.UUID | None, *,
                  details: dict[str, Any] | None = None, check: bool = True) -> bool:
    """Move `task` to `new` (validated unless `check=False`); returns False when unchanged."""
    old = task.status
    if old == new:
        return False
    if check:
        check_transition(task, new)
    now = utcnow()
    task.status = new
    task.updated_at = now
    if new == "running":
        task.started_at = now
        task.completed_at = None
    elif new in ("pending", "queued"):
        task.completed_at = None
        if new == "pending":
            task.progress_percentage = 0
    if new == "completed":
        task.completed_at = now
        task.progress_percentage = 100
    if new in TERMINAL and task.started_at is not None:
        task.actual_duration = max(int((now - task.started_at).total_seconds()), 0)
    audit.record("task", task.id, "status_changed", user_id=user_id, field="status",
                 old=old, new=new, details=details, project_id=task.project_id)
    data = {"task_id": str(task.id), "project_id": str(task.project_id), "status": new,
            "old_status": old, "progress_percentage": task.progress_percentage,
            "updated_at": iso(now), **({"details": details} if details else {})}
    scope = {"project_id": task.project_id, "task_id": task.id, "user_id": user_id}
    events.emit("task.updated", data, **scope)
    if new in ("completed", "failed"):
        finished = {**data, "completed_at": iso(task.completed_at or now),
                    "duration": format_duration(task.actual_duration)}
        events.emit(f"task.{new}", finished, **scope)
    return True

