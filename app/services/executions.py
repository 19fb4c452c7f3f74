"""Executing, retrying and cancelling tasks; reading their executions (CONTRACT §3).

`execute` checks everything before writing anything (maintenance, already active, `blocks`
dependencies, the task's executor settings and working directory, command safety, Redis and the
queue bound), then creates the execution, queues its job and commits; a Redis failure on the way
undoes the whole request. It answers at once with the place in the queue and an estimate.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select

from app.errors import AppError, ValidationFailed, iso, utcnow
from app.extensions import db
from app.models.execution import TaskExecution
from app.models.task import Task, TaskDependency
from app.models.user import User
from app.services import (
    access,
    agent_settings,
    budgets,
    command_safety,
    environment,
    queues,
    run_control,
    workspace,
)
from app.services import execution_lifecycle as lifecycle
from app.services.durations import format_duration
from app.services.engine_config import setting
from app.services.output import read as read_output
from app.services.pagination import paginate
from app.services.system import maintenance_state
from app.services.task_status import ACTIVE

RECENT_RUNS = 50


# A task's runs in the order they were created; the id breaks ties, so the order (and every
# run number) is the same on every read.
RUN_ORDER = (TaskExecution.created_at, TaskExecution.id)


def run_number(ex: TaskExecution) -> int:
    """The run's number among its task's runs (#1, #2, ...), retries included: how many runs of
    the task were created before it, plus one. Computed, not stored: executions are never
    deleted and their creation time never changes, so the number is stable, and runs created
    at the same moment (a double click) still get different numbers."""
    earlier = select(func.count()).select_from(TaskExecution).where(
        TaskExecution.task_id == ex.task_id,
        or_(TaskExecution.created_at < ex.created_at,
            and_(TaskExecution.created_at == ex.created_at, TaskExecution.id < ex.id)))
    return (db.session.scalar(earlier) or 0) + 1


def serialize(ex: TaskExecution, number: int | None = None) -> dict[str, Any]:
    """An execution as the API shows it (without its output); `number` is its run number
    when the caller knows it (lists), else it is read (`run_number`)."""
    seconds = lifecycle.duration_seconds(ex)
    claude = None
    if ex.executor == "claude":
        claude = {"session_id": ex.claude_session_id, "cost_usd": ex.cost_usd,
                  "num_turns": ex.num_turns, "duration_ms": ex.duration_ms,
                  "duration_api_ms": ex.duration_api_ms, "result": ex.result_text,
                  "usage": ex.usage, "model_usage": ex.model_usage,
                  "permission_denials": ex.permission_denials, "subtype": ex.result_subtype,
                  "prompt": ex.prompt, "resume_session_id": ex.resume_session_id,
                  "follow_up_of": str(ex.follow_up_of) if ex.follow_up_of else None}
    return {
        "id": str(ex.id), "execution_id": str(ex.id), "task_id": str(ex.task_id),
        "project_id": str(ex.project_id), "status": ex.status, "queue": ex.queue,
        "run_number": number if number is not None else run_number(ex),
        "attempt": ex.attempt, "retry_attempt": ex.attempt,
        "retry_of": str(ex.retry_of) if ex.retry_of else None,
        "executor": ex.executor, "command": ex.command,
        "working_directory": ex.working_directory, "options": ex.options or {},
        "triggered_by": str(ex.triggered_by) if ex.triggered_by else None,
        "worker_name": ex.worker_name, "pid": ex.pid, "exit_code": ex.exit_code,
        "error": ({"code": ex.error_code, "message": ex.error_message}
                  if ex.error_code or ex.error_message else None),
        "cancel_reason": ex.cancel_reason,
        "created_at": iso(ex.created_at), "started_at": iso(ex.started_at),
        "finished_at": iso(ex.finished_at), "cancelled_at": iso(ex.cancelled_at),
        "duration": format_duration(seconds), "duration_seconds": seconds,
        "output_lines": ex.last_seq, "output_bytes": ex.output_bytes,
        "output_truncated": ex.output_truncated, "run_directory": ex.run_directory,
        "warning": ex.warning, "claude": claude,
    }


# ---- checks --------------------------------------------------------------------------------

def _check_not_maintenance() -> None:
    state = maintenance_state()
    if state.get("enabled"):
        raise AppError("SYSTEM_MAINTENANCE", state.get("message") or None,
                       {"since": state.get("since")})


def _check_dependencies(task: Task) -> None:
    rows = db.session.scalars(select(TaskDependency).where(
        TaskDependency.task_id == task.id, TaskDependency.dependency_type == "blocks"))
    unmet = [{"task_id": str(d.depends_on_task_id), "title": d.depends_on.title,
              "status": d.depends_on.status}
             for d in rows if d.depends_on is not None and d.depends_on.deleted_at is None
             and d.depends_on.status != "completed"]
    if unmet:
        names = ", ".join(f"'{u['title']}' ({u['status']})" for u in unmet)
        raise AppError("TASK_DEPENDENCY_NOT_MET",
                       f"Task is blocked by tasks that are not completed: {names}",
                       {"blocked_by": unmet})


def _check_plan(task: Task, user: User, options: dict[str, Any]) -> str | None:
    """Validate how the task runs; returns its working directory (relative, as stored)."""
    if task.executor == "shell":
        if not (task.command or "").strip():
            raise ValidationFailed("command", "a shell task needs a command",
                                   code="VALIDATION_REQUIRED_FIELD")
        report = command_safety.analyze(task.command)
        if not report.valid or (not report.safe and not (user.is_admin and options.get("force"))):
            raise AppError("VALIDATION_ERROR", "The task's command was refused: "
                           + "; ".join(report.warnings or ["it does not parse"]),
                           {"field": "command", "issue": (report.warnings or ["invalid"])[0],
                            "warnings": report.warnings, "suggestions": report.suggestions})
    else:
        try:
            agent_settings.validate((task.meta or {}).get("claude"))
        except ValueError as exc:
            raise ValidationFailed("metadata.claude", str(exc)) from None
    environment.validate((task.meta or {}).get("environment"), "metadata.environment")
    environment.validate(options.get("environment"), "options.environment")
    workspace.resolve(task.project_id, task.working_directory)
    return task.working_directory


def _submit(task: Task, user: User, queue: str, options: dict[str, Any], attempt: int,
            retry_of: uuid.UUID | None,
            conversation: dict[str, Any] | None = None) -> TaskExecution:
    _check_not_maintenance()
    if task.status in ACTIVE:
        raise AppError("TASK_ALREADY_RUNNING", f"Task is already {task.status}",
                       {"status": task.status})
    _check_dependencies(task)
    workdir = _check_plan(task, user, options)
    budgets.check_start(task, user, options)  # the month's budget (admins may override)
    queues.check_capacity(queue)
    ex = lifecycle.create(task, user_id=user.id, queue=queue, options=options, attempt=attempt,
                          retry_of=retry_of, working_directory=workdir,
                          conversation=conversation)
    lifecycle.enqueue_created(ex, f"task {task.title[:80]} (execution {ex.id})")
    return ex


def _normalize_options(options: dict[str, Any] | None) -> dict[str, Any]:
    opts = {k: v for k, v in (options or {}).items() if v is not None}
    opts.setdefault("timeout", int(setting("TASK_DEFAULT_TIMEOUT")))
    opts.setdefault("retry_attempts", 0)
    return opts


def execute(task_id: uuid.UUID, user: User, priority: str = "normal",
            options: dict[str, Any] | None = None,
            conversation: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST /api/tasks/{id}/execute; with `conversation` (prompt, resume_session_id,
    follow_up_of), a follow-up of the task's Claude conversation (app.services.conversation):
    every check of a run applies to it too."""
    task = access.get_task(task_id, user, write=True)
    queue = queues.normalize(priority)
    ex = _submit(task, user, queue, _normalize_options(options), 1, None, conversation)
    return _queued_answer(task, ex)


def retry(task_id: uuid.UUID, user: User) -> dict[str, Any]:
    """POST /api/tasks/{id}/retry: a new execution of a failed or cancelled task."""
    task = access.get_task(task_id, user, write=True)
    if task.status in ACTIVE:
        raise AppError("TASK_ALREADY_RUNNING", f"Task is already {task.status}")
    if task.status not in ("failed", "cancelled"):
        raise AppError("TASK_INVALID_TRANSITION",
                       f"Only failed or cancelled tasks can be retried; this one is {task.status}",
                       {"field": "status", "issue": "must be failed or cancelled",
                        "from": task.status})
    last = _latest(task.id)
    options = dict(last.options) if last else _normalize_options(None)
    queue = last.queue if last else "normal"
    ex = _submit(task, user, queue, options, (last.attempt + 1) if last else 1,
                 last.id if last else None, lifecycle.conversation_of(last) if last else None)
    answer = _queued_answer(task, ex)
    answer["retry_attempt"] = ex.attempt
    return answer


def _latest(task_id: uuid.UUID, statuses: tuple[str, ...] | None = None) -> TaskExecution | None:
    query = select(TaskExecution).where(TaskExecution.task_id == task_id)
    if statuses:
        query = query.where(TaskExecution.status.in_(statuses))
    return db.session.scalar(query.order_by(TaskExecution.created_at.desc()).limit(1))


def _queued_answer(task: Task, ex: TaskExecution) -> dict[str, Any]:
    pos = queues.position("execution", ex.id, ex.queue)
    return {"task_id": str(task.id), "execution_id": str(ex.id), "status": ex.status,
            "queue": ex.queue, "run_number": run_number(ex), "attempt": ex.attempt,
            "queue_position": pos,
            "estimated_start_time": iso(estimate_start(pos))}


def average_run_seconds() -> float:
    """Mean run time of the most recent finished executions (0 with no history)."""
    rows = db.session.execute(
        select(TaskExecution.started_at, TaskExecution.finished_at)
        .where(TaskExecution.status.in_(("completed", "failed")),
               TaskExecution.started_at.is_not(None), TaskExecution.finished_at.is_not(None))
        .order_by(TaskExecution.finished_at.desc()).limit(RECENT_RUNS)).all()
    spans = [(f - s).total_seconds() for s, f in rows]
    return sum(spans) / len(spans) if spans else 0.0


def estimate_start(position: int | None):
    """Now, plus one average run per full round of busy workers ahead of this job.

    With W live workers, of which I are idle, a job with A jobs ahead starts at once when A < I;
    otherwise after ((A - I) // W + 1) average run times.
    """
    now = utcnow()
    if not position:
        return now
    ahead = position - 1
    workers = queues.workers_summary()
    total = max(workers["total"], 1)
    if ahead < workers["idle"]:
        return now
    rounds = (ahead - workers["idle"]) // total + 1
    return now + timedelta(seconds=rounds * average_run_seconds())


# ---- cancel -----------------------------------------------------------------------------------

def cancel(task_id: uuid.UUID, user: User, reason: str | None) -> dict[str, Any]:
    """POST /api/tasks/{id}/cancel: queued -> out of the queue; running -> process group killed."""
    task = access.get_task(task_id, user, write=True)
    if task.status not in ACTIVE:
        raise AppError("TASK_INVALID_TRANSITION",
                       f"Only queued or running tasks can be cancelled; this one is {task.status}",
                       {"field": "status", "issue": "must be queued or running",
                        "from": task.status})
    ex = _latest(task.id, ("queued", "running"))
    if ex is None:
        from app.services.task_status import change_status

        change_status(task, "cancelled", user.id, details={"reason": reason})
        db.session.commit()
    elif ex.status == "queued" and lifecycle.cancel_queued(ex, reason, user.id):
        pass
    else:
        stop_running(ex, reason, user)
    db.session.refresh(task)
    ex = db.session.get(TaskExecution, ex.id, populate_existing=True) if ex else None
    return {"task_id": str(task.id), "status": task.status,
            "execution_id": str(ex.id) if ex else None,
            "execution_status": ex.status if ex else None,
            "cancelled_at": iso(ex.cancelled_at if ex and ex.cancelled_at else utcnow()),
            "reason": reason, "exit_code": ex.exit_code if ex else None}


def stop_running(ex: TaskExecution, reason: str | None, user: User) -> None:
    """Ask the worker to kill the run's process group; wait a little for the final state."""
    rkey = lifecycle.key(ex.id)
    run_control.request_cancel(rkey, reason, str(user.id))
    if ex.status == "running" and not run_control.is_alive(rkey):
        lifecycle.finish(ex.id, lifecycle.Outcome(
            status="cancelled", error_code="TASK_CANCELLED", cancel_reason=reason,
            error_message="Cancelled; its worker was no longer running", retryable=False),
            user.id)
        lifecycle.release(ex.project_id, ex.id)
        return
    deadline = time.monotonic() + float(setting("CANCEL_WAIT_SECONDS"))
    while time.monotonic() < deadline:
        db.session.rollback()
        status = db.session.scalar(select(TaskExecution.status).where(TaskExecution.id == ex.id))
        if status in lifecycle.FINAL:
            return
        if status == "queued" and lifecycle.cancel_queued(ex, reason, user.id):
            return
        time.sleep(0.05)


# ---- reading -------------------------------------------------------------------------------

def list_for_task(task_id: uuid.UUID, user: User, page: int, page_size: int,
                  order: str = "desc") -> dict[str, Any]:
    """A page of the task's runs, newest first (or oldest with `order="asc"`), each with its
    run number: the page is a contiguous stretch of `RUN_ORDER`, so the first run's number
    gives all the others (one query, not one per run)."""
    task = access.get_task(task_id, user)
    newest_first = order != "asc"
    query = select(TaskExecution).where(TaskExecution.task_id == task.id).order_by(
        *(c.desc() if newest_first else c.asc() for c in RUN_ORDER))
    result = paginate(query, page, page_size)
    first = run_number(result.items[0]) if result.items else 0
    numbers = {id(ex): first - i if newest_first else first + i
               for i, ex in enumerate(result.items)}
    return result.to_dict(lambda ex: serialize(ex, numbers[id(ex)]),
                          f"/api/tasks/{task.id}/executions", {"order": order})


def get(execution_id: uuid.UUID, user: User, after_seq: int = 0,
        limit: int | None = None) -> dict[str, Any]:
    ex = db.session.get(TaskExecution, execution_id)
    if ex is None:
        raise AppError("EXECUTION_NOT_FOUND")
    try:
        access.get_task(ex.task_id, user)
    except AppError as exc:
        if exc.code == "TASK_NOT_FOUND":
            raise AppError("EXECUTION_NOT_FOUND") from None
        raise
    data = serialize(ex)
    data.update(read_output("execution", ex.id, after_seq, limit or 1000))
    return data
