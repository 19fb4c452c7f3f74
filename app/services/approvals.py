"""Permission requests of running Claude runs, and the decisions on them.

The worker runs the CLI with `--permission-prompt-tool=stdio`: before using a tool its settings
do not already allow, the CLI writes a `control_request` `can_use_tool` and waits. The worker
stores it here (`request`) as `pending`; the run page and the board card show "needs
attention"; a member with `execute` allows or denies it with a message (`decide`, the one path
for pages and API), which wakes the worker through the run's inbox (app.services.conversation)
so it answers the CLI with a `control_response`. Nobody deciding within
`APPROVAL_TIMEOUT_SECONDS` denies it (`expire`, by the worker, with a message saying so); a
turn or a run that ends first leaves it `cancelled` (`end_pending`).

Every request and every decision (who, when, allow or deny, the message, a timeout) is written
to the task's history and published as `task.updated` (`changes: ["approval"]`, with the
approval) and `execution.updated` (with `attention`: the run's pending requests), so boards,
task pages, run pages, API sockets and webhooks hear it. State changes are conditional
(`WHERE status = 'pending'`): a decision and a timeout racing cannot both win.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from app.errors import AppError, ValidationFailed, iso, utcnow
from app.extensions import db
from app.models.approval import RunApproval
from app.models.execution import TaskExecution
from app.models.task import Task
from app.models.user import User
from app.services import access, audit, events
from app.services import execution_lifecycle as lifecycle
from app.services.engine_config import setting
from app.services.tasks import task_dict

DEFAULTS = {"APPROVAL_TIMEOUT_SECONDS": 300.0}
MESSAGE_MAX = 2000
INPUT_SHOWN = 2000  # characters of a tool's input kept in the history entry


def timeout_seconds() -> float:
    """How long a request waits for a decision (setting APPROVAL_TIMEOUT_SECONDS)."""
    return max(float(setting("APPROVAL_TIMEOUT_SECONDS", DEFAULTS)), 1.0)


def to_dict(row: RunApproval, names: dict[uuid.UUID, str] | None = None) -> dict[str, Any]:
    """An approval as the API and events show it."""
    by = row.decided_by
    return {"id": str(row.id), "execution_id": str(row.execution_id),
            "task_id": str(row.task_id), "project_id": str(row.project_id),
            "request_id": row.request_id, "tool_name": row.tool_name,
            "tool_input": row.tool_input, "tool_use_id": row.tool_use_id,
            "status": row.status, "message": row.message,
            "requested_at": iso(row.requested_at), "expires_at": iso(row.expires_at),
            "decided_at": iso(row.decided_at), "decided_by": str(by) if by else None,
            "decided_by_name": (names or {}).get(by) if by else None}


def _name_of(user_id: uuid.UUID | None) -> str | None:
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    return (user.full_name or user.username) if user else None


def _publish(row: RunApproval, action: str, user_id: uuid.UUID | None,
             details: dict[str, Any]) -> dict[str, Any]:
    """History entry on the task and the two events, in the caller's transaction."""
    data = to_dict(row, {row.decided_by: _name_of(row.decided_by)} if row.decided_by else None)
    shown = str(row.tool_input)[:INPUT_SHOWN] if row.tool_input is not None else None
    audit.record("task", row.task_id, action, user_id=user_id, field="approval",
                 old="pending" if action != "approval_requested" else None, new=row.status,
                 project_id=row.project_id,
                 details={"approval_id": str(row.id), "execution_id": str(row.execution_id),
                          "tool_name": row.tool_name, "tool_input": shown, **details})
    task = db.session.get(Task, row.task_id)
    if task is not None:
        events.emit("task.updated", {**task_dict(task), "changes": ["approval"],
                                     "approval": data},
                    project_id=row.project_id, task_id=row.task_id, user_id=user_id)
    ex = db.session.get(TaskExecution, row.execution_id)
    if ex is not None:
        events.emit("execution.updated", {**lifecycle.brief(ex), "approval": data,
                                          "attention": pending_count(execution_id=ex.id)},
                    project_id=row.project_id, task_id=row.task_id, execution_id=ex.id)
    return data


# ---------------------------------------------------------------- the worker's side

def request(execution_id: uuid.UUID, task_id: uuid.UUID, project_id: uuid.UUID,
            request_id: str, tool_name: str, tool_input: Any, tool_use_id: str | None,
            timeout: float) -> dict[str, Any]:
    """Store a `can_use_tool` request as pending (committed and published)."""
    now = utcnow()
    row = RunApproval(execution_id=execution_id, task_id=task_id, project_id=project_id,
                      request_id=str(request_id)[:200], tool_name=str(tool_name or "tool")[:200],
                      tool_input=tool_input, tool_use_id=(str(tool_use_id)[:200]
                                                          if tool_use_id else None),
                      status="pending", requested_at=now,
                      expires_at=now + timedelta(seconds=timeout))
    db.session.add(row)
    db.session.flush()
    data = _publish(row, "approval_requested", None, {"timeout_seconds": round(timeout)})
    db.session.commit()
    return data


def expire(approval_id: uuid.UUID, timeout: float) -> dict[str, Any] | None:
    """Deny a request nobody answered in time; if a decision won the race, that decision.
    None when the row is gone."""
    message = (f"No one answered this permission request within {round(timeout)} seconds, "
               "so it was denied automatically.")
    if _transition(approval_id, "expired", message, None):
        row = db.session.get(RunApproval, approval_id)
        data = _publish(row, "approval_expired", None, {"message": message})
        db.session.commit()
        return data
    return get(approval_id)


def end_pending(execution_id: uuid.UUID, why: str) -> int:
    """Requests of the run still pending when its turn or the run ended: cancelled (in the
    caller's transaction, without events: the run's own change is published)."""
    result = db.session.execute(
        update(RunApproval)
        .where(RunApproval.execution_id == execution_id, RunApproval.status == "pending")
        .values(status="cancelled", message=why, decided_at=utcnow())
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


def get(approval_id: uuid.UUID) -> dict[str, Any] | None:
    """The approval as stored now, with the decider's name. The worker's read: it ends the
    session's transaction first (the worker keeps nothing uncommitted), so a decision
    committed by a web process is seen."""
    db.session.rollback()
    row = db.session.get(RunApproval, approval_id, populate_existing=True)
    if row is None:
        return None
    return to_dict(row, {row.decided_by: _name_of(row.decided_by)} if row.decided_by else None)


def _transition(approval_id: uuid.UUID, status: str, message: str | None,
                user_id: uuid.UUID | None) -> bool:
    """pending -> `status`, only while the row is pending and its run is running."""
    running = select(TaskExecution.id).where(TaskExecution.id == RunApproval.execution_id,
                                             TaskExecution.status == "running").exists()
    result = db.session.execute(
        update(RunApproval)
        .where(RunApproval.id == approval_id, RunApproval.status == "pending", running)
        .values(status=status, message=message, decided_at=utcnow(), decided_by=user_id)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        return False
    return True


# ---------------------------------------------------------------- people's side

def decide(approval_id: uuid.UUID, user: User, decision: str,
           message: str | None = None) -> dict[str, Any]:
    """Allow or deny a pending request (`decision` "allow" | "deny", a denial's message is
    told to Claude); the worker answers the CLI as soon as it hears (within a tenth of a
    second). 404/403 like the task; 409 when it was already decided, timed out or its run
    ended."""
    from app.services import conversation

    if decision not in ("allow", "deny"):
        raise ValidationFailed("decision", "must be allow or deny")
    message = (message or "").strip() or None
    if message is not None and len(message) > MESSAGE_MAX:
        raise ValidationFailed("message", f"at most {MESSAGE_MAX} characters",
                               code="VALIDATION_VALUE_TOO_LONG")
    row = _visible(approval_id, user, write=True)
    if row.status != "pending":
        raise AppError("APPROVAL_ALREADY_DECIDED", f"This request is already {row.status}",
                       {"status": row.status})
    status = "allowed" if decision == "allow" else "denied"
    if status == "denied" and message is None:
        message = f"{user.full_name or user.username} denied this tool use."
    if not _transition(approval_id, status, message, user.id):
        now = db.session.get(RunApproval, approval_id, populate_existing=True)
        raise AppError("APPROVAL_ALREADY_DECIDED",
                       f"This request is already {now.status if now else 'gone'}"
                       + (" (its run is no longer running)" if now and now.status == "pending"
                          else ""), {"status": now.status if now else None})
    row = db.session.get(RunApproval, approval_id, populate_existing=True)
    data = _publish(row, f"approval_{status}", user.id, {"message": message})
    db.session.commit()
    conversation.notify(row.execution_id, {"kind": "approval", "approval_id": str(row.id)})
    return data


def _visible(approval_id: uuid.UUID, user: User, write: bool = False) -> RunApproval:
    row = db.session.get(RunApproval, approval_id)
    if row is None:
        raise AppError("APPROVAL_NOT_FOUND")
    try:
        access.get_task(row.task_id, user, write=write)
    except AppError as exc:
        if exc.code == "TASK_NOT_FOUND":
            raise AppError("APPROVAL_NOT_FOUND") from None
        raise
    return row


def for_execution(execution_id: uuid.UUID, user: User | None = None) -> list[dict[str, Any]]:
    """A run's requests, oldest first (with `user`: after the task's access check)."""
    if user is not None:
        ex = db.session.get(TaskExecution, execution_id)
        if ex is None:
            raise AppError("EXECUTION_NOT_FOUND")
        try:
            access.get_task(ex.task_id, user)
        except AppError as exc:
            raise (AppError("EXECUTION_NOT_FOUND") if exc.code == "TASK_NOT_FOUND" else exc) \
                from None
    rows = list(db.session.scalars(select(RunApproval)
                                   .where(RunApproval.execution_id == execution_id)
                                   .order_by(RunApproval.requested_at, RunApproval.id)))
    deciders = {r.decided_by for r in rows if r.decided_by}
    names = {u.id: u.full_name or u.username for u in db.session.scalars(
        select(User).where(User.id.in_(deciders)))} if deciders else {}
    return [to_dict(r, names) for r in rows]


def _pending_query():
    """Pending requests whose run is still running (a run that died leaves none behind)."""
    return (select(RunApproval.task_id, func.count())
            .join(TaskExecution, TaskExecution.id == RunApproval.execution_id)
            .where(RunApproval.status == "pending", TaskExecution.status == "running"))


def pending_count(task_id: uuid.UUID | str | None = None,
                  execution_id: uuid.UUID | None = None) -> int:
    query = _pending_query()
    if task_id is not None:
        query = query.where(RunApproval.task_id == uuid.UUID(str(task_id)))
    if execution_id is not None:
        query = query.where(RunApproval.execution_id == execution_id)
    return sum(n for _, n in db.session.execute(query.group_by(RunApproval.task_id)))


def tasks_needing_attention(limit: int = 1000) -> set[str]:
    """Ids of the tasks with a pending request (boards mark their cards): few at any time."""
    rows = db.session.execute(_pending_query().group_by(RunApproval.task_id).limit(limit))
    return {str(task_id) for task_id, _ in rows}
