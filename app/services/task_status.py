"""Task status: the allowed transitions and the one function that changes a status.

Two layers: `TRANSITIONS` is the whole lifecycle (what the engine and people together may do);
`manual_targets` / `check_manual` are the part a person may do by hand (API PUT, bulk, the
board's select mode, the edit form). `queued` and `running` are never set by hand: they say an
execution exists and is waiting or working, so only an execution sets them (POST .../execute).

`change_status` keeps `started_at`, `completed_at`, `actual_duration` and progress right, writes
the history entry and emits the events; it does not commit (the calling service does, so the
change, its history and its events land together or not at all). `change_status_row` does the
same on the row, for the engine's hot path (no ORM object: a fraction of the cost per run).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from app.errors import AppError, ValidationFailed, iso, utcnow
from app.extensions import db
from app.models.task import TASK_STATUSES, Task
from app.services import audit, engine_sql, events, versions
from app.services.durations import format_duration
from app.services.versions import project_scope

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
# Set only by executions (they mean a run is waiting or working), never by hand.
ENGINE_ONLY = ACTIVE
MANUAL_STATUSES = tuple(s for s in TASK_STATUSES if s not in ENGINE_ONLY)


def manual_targets(old: str) -> list[str]:
    """The statuses a person may move a task in `old` to, sorted (the edit form's choices)."""
    return sorted(TRANSITIONS.get(old, frozenset()) - ENGINE_ONLY)


def check_manual(task: Task, new: Any) -> None:
    """The rule for a status set by hand: a known status (else 422), and a move `manual_targets`
    allows (else 409 TASK_INVALID_TRANSITION naming what is allowed). Staying put is allowed."""
    if new not in TASK_STATUSES:
        raise ValidationFailed("status", f"one of {', '.join(TASK_STATUSES)}")
    if new == task.status:
        return
    allowed = manual_targets(task.status)
    if new in allowed:
        return
    names = ", ".join(allowed) or "nothing"
    issue = f"allowed from {task.status}: {names}"
    if new in ENGINE_ONLY:
        why = f"A task becomes {new} only by executing it (POST /api/tasks/{{id}}/execute)"
        issue = f"{new} only by executing it; {issue}"
    else:
        why = f"A {task.status} task cannot become {new}"
    raise AppError("TASK_INVALID_TRANSITION", f"{why}; by hand it may become: {names}",
                   {"field": "status", "issue": issue, "from": task.status, "to": new,
                    "allowed": allowed})


def can_transition(old: str, new: str) -> bool:
    return new == old or new in TRANSITIONS.get(old, frozenset())


def check_transition(task: Task, new: str) -> None:
    if not can_transition(task.status, new):
        allowed = sorted(TRANSITIONS.get(task.status, ()))
        raise AppError("TASK_INVALID_TRANSITION",
                       f"A {task.status} task cannot become {new}",
                       {"field": "status", "issue": f"allowed from {task.status}: {allowed}",
                        "from": task.status, "to": new, "allowed": allowed})


def transition_fields(old: str, new: str, started_at: datetime | None, progress: int | None,
                      now: datetime) -> dict[str, Any]:
    """The task columns a move from `old` to `new` sets: `started_at`, `completed_at`,
    `actual_duration` and progress kept right (the one place these rules live)."""
    fields: dict[str, Any] = {"status": new, "updated_at": now}
    if new == "running":
        fields["started_at"] = started_at = now
        fields["completed_at"] = None
    elif new in ("pending", "queued"):
        fields["completed_at"] = None
        if new == "pending":
            fields["progress_percentage"] = 0
    if new in TERMINAL:  # when it ended, however it ended (the pages' "Finished")
        fields["completed_at"] = now
    if new == "completed":
        fields["progress_percentage"] = 100
    if new in TERMINAL and started_at is not None:
        fields["actual_duration"] = max(int((now - started_at).total_seconds()), 0)
    if progress is not None:
        fields.setdefault("progress_percentage", progress)
    return fields


def change_status(task: Task, new: str, user_id: uuid.UUID | None, *,
                  details: dict[str, Any] | None = None, check: bool = True) -> bool:
    """Move `task` to `new` (validated unless `check=False`); returns False when unchanged."""
    old = task.status
    if old == new:
        return False
    if check:
        check_transition(task, new)
    now = utcnow()
    fields = transition_fields(old, new, task.started_at, task.progress_percentage, now)
    for name, value in fields.items():
        if name != "progress_percentage" or value != task.progress_percentage:
            setattr(task, name, value)
    audit.record("task", task.id, "status_changed", user_id=user_id, field="status",
                 old=old, new=new, details=details, project_id=task.project_id)
    _announce(task.id, task.project_id, old, fields, user_id, details, now)
    return True


def change_status_row(task_id: uuid.UUID, new: str, user_id: uuid.UUID | None, *,
                      details: dict[str, Any] | None = None, audit_rows: list | None = None,
                      now: datetime | None = None,
                      expect: tuple[uuid.UUID, str, datetime | None] | None = None) -> bool:
    """`change_status` for the engine's hot path, on the row without loading a Task object:
    the same fields, the same history entry (appended to `audit_rows` when given, for one
    INSERT with the caller's) and the same events. Does not commit, like `change_status`.

    `expect` = (project id, status, started_at) the caller knows the task to be in (the engine
    set them itself): then one conditional UPDATE does it where the database can return the
    progress; otherwise, or if the row is not in that state, read (and on PostgreSQL lock)
    the row first."""
    table = Task.__table__
    conn = db.session.connection()
    now = now or utcnow()
    if expect is not None and expect[1] != new and conn.dialect.update_returning:
        project_id, old, started_at = expect
        fields = transition_fields(old, new, started_at, None, now)
        where = {"id": task_id, "status": old}
        if new in TERMINAL:  # the duration depends on it
            where["started_at"] = started_at
        versions.mark(db.session(), {project_scope(project_id)})
        done = engine_sql.update_row(conn, table, fields, where,
                                     returning=("progress_percentage",)).first()
        if done is not None:
            fields["progress_percentage"] = done.progress_percentage
            _history(task_id, project_id, old, fields, user_id, details, now, audit_rows)
            return True
    row = engine_sql.select_by_id(conn, table, task_id, ("project_id", "status", "started_at",
                                                        "progress_percentage"),
                                  for_update=True).first()
    if row is None or row.status == new:
        return False
    fields = transition_fields(row.status, new, row.started_at, row.progress_percentage, now)
    versions.mark(db.session(), {project_scope(row.project_id)})
    engine_sql.update_row(conn, table, fields, {"id": task_id})
    _history(task_id, row.project_id, row.status, fields, user_id, details, now, audit_rows)
    return True


def _history(task_id: uuid.UUID, project_id: uuid.UUID, old: str, fields: dict[str, Any],
             user_id: uuid.UUID | None, details: dict[str, Any] | None, now: datetime,
             audit_rows: list | None) -> None:
    entry = audit.entry("task", task_id, "status_changed", user_id=user_id, field="status",
                        old=old, new=fields["status"], details=details, project_id=project_id)
    if audit_rows is None:
        audit.record_rows([entry])
    else:
        audit_rows.append(entry)
    _announce(task_id, project_id, old, fields, user_id, details, now)


def _announce(task_id: uuid.UUID, project_id: uuid.UUID, old: str, fields: dict[str, Any],
              user_id: uuid.UUID | None, details: dict[str, Any] | None, now: datetime) -> None:
    new = fields["status"]
    data = {"task_id": str(task_id), "project_id": str(project_id), "status": new,
            "old_status": old, "progress_percentage": fields["progress_percentage"],
            "updated_at": iso(now), **({"details": details} if details else {})}
    scope = {"project_id": project_id, "task_id": task_id, "user_id": user_id}
    events.emit("task.updated", data, **scope)
    if new in ("completed", "failed"):
        finished = {**data, "completed_at": iso(fields["completed_at"]),
                    "duration": format_duration(fields.get("actual_duration"))}
        events.emit(f"task.{new}", finished, **scope)
