"""The life of one task execution: created -> queued -> running -> completed|failed|cancelled.

Shared by the API services (execute, retry, cancel, clear) and by the worker jobs, so a state
change is written the same way wherever it happens: the row, the task's status (through
`task_status.change_status`), an audit entry and an `execution.updated` event, in one commit.
Redis side effects (project slots, queued jobs, retries waiting for their backoff) follow the
commit. Starting and cancelling are conditional updates (`WHERE status = 'queued'`), so a worker
and a cancel racing for the same run cannot both win.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import redis
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import lazyload

from app.errors import iso, utcnow
from app.extensions import db
from app.models.execution import TaskExecution
from app.models.project import Project
from app.models.task import Task
from app.services import audit, budgets, concurrency, events, queues, run_control, versions
from app.services import engine_sql as sql
from app.services.durations import format_duration, run_seconds
from app.services.engine_config import setting
from app.services.task_status import change_status, change_status_row

log = logging.getLogger(__name__)
FINAL = ("completed", "failed", "cancelled")


@dataclass
class Outcome:
    """How a run ended, as the worker saw it."""

    status: str
    exit_code: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    cancel_reason: str | None = None
    last_seq: int | None = None
    output_bytes: int | None = None
    truncated: bool | None = None
    claude: dict[str, Any] = field(default_factory=dict)
    retryable: bool = True


def key(execution_id: uuid.UUID | str) -> str:
    return run_control.owner_key("execution", execution_id)


def duration_seconds(ex: TaskExecution) -> float | None:
    return run_seconds(ex.started_at, ex.finished_at)


def brief(ex: TaskExecution) -> dict[str, Any]:
    """What `execution.updated` events carry."""
    return {"execution_id": str(ex.id), "task_id": str(ex.task_id),
            "project_id": str(ex.project_id), "status": ex.status, "queue": ex.queue,
            "attempt": ex.attempt, "exit_code": ex.exit_code, "error_code": ex.error_code,
            "error_message": ex.error_message, "pid": ex.pid,
            "started_at": iso(ex.started_at), "finished_at": iso(ex.finished_at),
            "last_seq": ex.last_seq}


def _emit(ex: TaskExecution, user_id: uuid.UUID | None = None) -> None:
    events.emit("execution.updated", brief(ex), project_id=ex.project_id, task_id=ex.task_id,
                execution_id=ex.id, user_id=user_id or ex.triggered_by)


def _record(ex: TaskExecution, old: str | None, new: str, user_id: uuid.UUID | None,
            action: str = "status_changed", details: dict[str, Any] | None = None) -> None:
    audit.record("execution", ex.id, action, user_id=user_id, field="status", old=old, new=new,
                 details=details, project_id=ex.project_id)


CONVERSATION = ("prompt", "resume_session_id", "follow_up_of")


def conversation_of(ex: Any) -> dict[str, Any] | None:
    """What a retry of `ex` repeats of its conversation: a follow-up resumes the same session
    with the same prompt; a fresh run is asked the task's prompt as it is now (None)."""
    if getattr(ex, "resume_session_id", None) is None:
        return None
    return {name: getattr(ex, name) for name in CONVERSATION}


def create(task: Task, *, user_id: uuid.UUID | None, queue: str, options: dict[str, Any],
           attempt: int = 1, retry_of: uuid.UUID | None = None,
           working_directory: str | None = None,
           conversation: dict[str, Any] | None = None) -> TaskExecution:
    """A queued execution of `task` (flushed, not committed) and the task moved to `queued`.

    A Claude run records its prompt (`conversation["prompt"]`, else the task's); a follow-up
    also the session it resumes and the run it follows (app.services.conversation)."""
    conv = {k: v for k, v in (conversation or {}).items() if k in CONVERSATION}
    if task.executor == "claude" and not conv.get("prompt"):
        from app.services.conversation import prompt_of

        conv["prompt"] = prompt_of(task.title, task.description, task.command)
    ex = TaskExecution(task_id=task.id, project_id=task.project_id, triggered_by=user_id,
                       queue=queue, attempt=attempt, retry_of=retry_of, status="queued",
                       executor=task.executor, command=task.command,
                       working_directory=working_directory, options=options, **conv)
    db.session.add(ex)
    db.session.flush()
    follows = ({"follow_up_of": str(ex.follow_up_of), "resume_session_id": ex.resume_session_id}
               if ex.resume_session_id else {})
    _record(ex, None, "queued", user_id, action="created",
            details={"queue": queue, "attempt": attempt, "options": options, **follows,
                     **({"retry_of": str(retry_of)} if retry_of else {})})
    detail = {"execution_id": str(ex.id), "attempt": attempt,
              **({"follow_up": True} if ex.resume_session_id else {})}
    if task.status != "queued":
        change_status(task, "queued", user_id, details=detail, check=False)
    _emit(ex, user_id)
    return ex


def enqueue_created(ex: TaskExecution, description: str) -> None:
    """Queue the job of a just-flushed execution, then commit; Redis failing undoes both."""
    try:
        ex.job_id = queues.enqueue_run("execution", ex.id, ex.queue, description=description)
    except (redis.RedisError, OSError) as exc:
        db.session.rollback()
        from app.errors import AppError

        raise AppError("SYSTEM_OVERLOADED", "The job queue (Redis) is unreachable; nothing was "
                       "queued, try again later") from exc
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        queues.remove_run("execution", ex.id)
        raise


def _task(task_id: uuid.UUID) -> Task:
    """The task, fresh, without its tags (the engine never needs them)."""
    return db.session.get(Task, task_id, populate_existing=True,
                          options=[lazyload(Task.tag_rows)])


_EX = TaskExecution.__table__
_TASK = Task.__table__
_BRIEF = ("id", "task_id", "project_id", "status", "queue", "attempt", "exit_code",
          "error_code", "error_message", "pid", "started_at", "finished_at", "last_seq",
          "triggered_by")
_ALL = tuple(_EX.c.keys())


def load_for_run(execution_id: uuid.UUID
                 ) -> tuple[SimpleNamespace, SimpleNamespace, dict | None] | None:
    """The execution, what the worker needs of its task (title, description, metadata, and its
    project's settings as `project_settings`: the agent settings a task overrides) and its
    project's resource limits, in one query, as plain rows (the engine needs no ORM objects)."""
    row = db.session.connection().execute(_load_statement(), {"eid": execution_id}).first()
    if row is None:
        return None
    values = dict(row._mapping)
    task = SimpleNamespace(id=values["task_id"], title=values.pop("title"),
                           description=values.pop("description"), meta=values.pop("meta"),
                           project_settings=values.pop("project_settings"))
    limits = values.pop("resource_limits")
    return SimpleNamespace(**values), task, limits


@functools.cache
def _load_statement():
    return (select(_EX, _TASK.c.title, _TASK.c.description, _TASK.c.metadata.label("meta"),
                   Project.__table__.c.resource_limits,
                   Project.__table__.c.settings.label("project_settings"))
            .join(_TASK, _TASK.c.id == _EX.c.task_id)
            .join(Project.__table__, Project.__table__.c.id == _EX.c.project_id)
            .where(_EX.c.id == bindparam("eid", type_=_EX.c.id.type)))


def mark_running(execution_id: uuid.UUID, worker_name: str, pid: int | None,
                 after_commit: Callable[[Any], None] | None = None,
                 marks: dict[str, Any] | None = None,
                 run_directory: str | None = None) -> SimpleNamespace | None:
    """queued -> running, unless a cancel or clear got there first (then None); records the
    directory the process runs in (`run_directory`).

    The engine's hot path, written on the rows (no ORM objects: most of a run's cost was the
    ORM's), with the same history, task status rules and events as every other change.
    `after_commit(pipeline)` adds Redis commands to the commit's event round trip; `marks`,
    change marks prepared ahead (`versions.prepare`), save this transaction that round trip."""
    if marks is not None:
        versions.adopt(db.session(), marks)
    now = utcnow()
    conn = db.session.connection()
    values = {"status": "running", "started_at": now, "heartbeat_at": now,
              "worker_name": worker_name, "pid": pid}
    if run_directory is not None:
        values["run_directory"] = run_directory
    where = {"id": execution_id, "status": "queued"}
    if conn.dialect.update_returning:
        found = sql.update_row(conn, _EX, values, where, returning=_BRIEF).first()
    else:
        found = (sql.select_by_id(conn, _EX, execution_id, _BRIEF).first()
                 if sql.update_row(conn, _EX, values, where).rowcount == 1 else None)
    if found is None:
        db.session.rollback()
        return None
    ex = SimpleNamespace(**found._mapping)
    rows = [audit.entry("execution", ex.id, "status_changed", user_id=None, field="status",
                        old="queued", new="running", project_id=ex.project_id,
                        details={"worker": worker_name, "pid": pid})]
    change_status_row(ex.task_id, "running", None, audit_rows=rows, now=now,
                      details={"execution_id": str(ex.id), "attempt": ex.attempt},
                      expect=(ex.project_id, "queued", None))
    audit.record_rows(rows)
    _emit(ex)
    if after_commit is not None:
        events.on_commit(after_commit)
    db.session.commit()
    return ex


def backoff(attempt: int) -> float:
    """Seconds before automatic retry number `attempt` (1 = the first retry)."""
    base = float(setting("RETRY_BACKOFF_SECONDS"))
    return min(base * (2 ** max(attempt - 1, 0)), float(setting("RETRY_BACKOFF_MAX")))


def finish(execution_id: uuid.UUID, outcome: Outcome, user_id: uuid.UUID | None = None,
           marks: dict[str, Any] | None = None, release: Release | None = None
           ) -> SimpleNamespace | None:
    """Write the final state (and queue an automatic retry when one is due); idempotent.

    On the rows like `mark_running` (`marks` likewise): the execution is updated only from the
    state it was read in, so two finishers (the worker, a cancel that found it dead, the
    reaper) cannot both write a final state. `release` frees the run's slot in the commit's
    round trip. Returns the execution's fields, or None when it was already final."""
    if marks is not None:
        versions.adopt(db.session(), marks)
    conn = db.session.connection()
    now = utcnow()
    values: dict[str, Any] = {"status": outcome.status, "finished_at": now,
                              "exit_code": outcome.exit_code, "error_code": outcome.error_code,
                              "error_message": outcome.error_message}
    if outcome.status == "cancelled":
        values.update(cancelled_at=now, cancel_reason=outcome.cancel_reason)
    if outcome.last_seq is not None:
        values.update(last_seq=outcome.last_seq, output_bytes=outcome.output_bytes or 0,
                      output_truncated=bool(outcome.truncated))
    values.update(outcome.claude)
    found = None
    if conn.dialect.update_returning:  # the usual case, a started run, in one statement
        found = sql.update_row(conn, _EX, values, {"id": execution_id, "status": "running"},
                               not_null=("started_at",), returning=_ALL).first()
    if found is not None:
        ex, old = SimpleNamespace(**found._mapping), "running"
    else:
        found = sql.select_by_id(conn, _EX, execution_id, for_update=True).first()
        if found is None or found.status in FINAL:
            db.session.rollback()
            return None
        ex, old = SimpleNamespace(**found._mapping), found.status
        if ex.started_at is None and old == "running":
            values["started_at"] = now
        changed = sql.update_row(conn, _EX, values, {"id": execution_id, "status": old})
        if changed.rowcount != 1:  # finished by someone else meanwhile
            db.session.rollback()
            return None
        vars(ex).update(values)
    rows = [audit.entry("execution", ex.id, "status_changed", user_id=user_id, field="status",
                        old=old, new=ex.status, project_id=ex.project_id, details={
                            "exit_code": ex.exit_code, "error_code": ex.error_code,
                            "error_message": ex.error_message, "reason": ex.cancel_reason,
                            "duration": format_duration(duration_seconds(ex))})]
    retries = int((ex.options or {}).get("retry_attempts") or 0)
    retry = None
    if outcome.status == "failed" and outcome.retryable and ex.attempt <= retries:
        audit.record_rows(rows)
        task = _task(ex.task_id)
        change_status(task, "queued", None, check=False, details={
            "automatic_retry": ex.attempt, "of": retries, "after": ex.error_message})
        retry = create(task, user_id=ex.triggered_by, queue=ex.queue, options=ex.options,
                       attempt=ex.attempt + 1, retry_of=ex.id,
                       working_directory=ex.working_directory,
                       conversation=conversation_of(ex))
    else:
        change_status_row(ex.task_id, ex.status, user_id, audit_rows=rows, now=now, details={
            "execution_id": str(ex.id), "exit_code": ex.exit_code,
            **({"error": ex.error_message} if ex.error_message else {}),
            **({"reason": ex.cancel_reason} if ex.cancel_reason else {})},
            expect=(ex.project_id, "running", ex.started_at) if old == "running" else None)
        audit.record_rows(rows)
    if ex.executor == "claude":  # permission requests nobody answered: the run is over
        from app.services.approvals import end_pending

        end_pending(ex.id, f"The run ended ({ex.status}) before anyone answered")
    _emit(ex, user_id)
    if release is not None:
        events.on_commit(release.add, release.take)
    db.session.commit()
    if outcome.claude.get("cost_usd"):  # spend changed: the month's budget alerts
        budgets.spend_recorded(ex.project_id)
    if retry is not None:
        try:
            run_control.schedule_delayed(key(retry.id), retry.queue, backoff(ex.attempt))
        except redis.RedisError:
            log.exception("could not schedule retry %s of execution %s", retry.id, ex.id)
    return ex


def cancel_queued(ex: TaskExecution, reason: str | None, user_id: uuid.UUID | None) -> bool:
    """Cancel an execution that has not started: False when a worker started it meanwhile."""
    now = utcnow()
    result = db.session.execute(
        update(TaskExecution)
        .where(TaskExecution.id == ex.id, TaskExecution.status == "queued")
        .values(status="cancelled", cancelled_at=now, finished_at=now, cancel_reason=reason,
                error_code="TASK_CANCELLED")
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        return False
    db.session.refresh(ex)
    _record(ex, "queued", "cancelled", user_id, details={"reason": reason})
    task = _task(ex.task_id)
    change_status(task, "cancelled", user_id, check=False,
                  details={"execution_id": str(ex.id), "reason": reason})
    _emit(ex, user_id)
    db.session.commit()
    queues.remove_run("execution", ex.id)
    release(ex.project_id, ex.id)
    return True


def release(project_id: uuid.UUID, execution_id: uuid.UUID | None,
            limit: int | None = None, run_key: str | None = None) -> None:
    """Free a slot (if held), drop the run from its project's line, and start the next waiters;
    with `run_key`, also unregister the run (run_control) in the same round trip.

    One Redis script; the database is only read when somebody was actually waiting."""
    if limit is None:
        limit = concurrency.limit_of(project_id)
    also = (lambda pipe: run_control.unregister_run(run_key, pipe)) if run_key else None
    promoted = concurrency.release_and_promote(project_id, execution_id, limit, also=also)
    if promoted:
        _requeue_promoted(project_id, promoted)


class Release:
    """A run's `release`, folded into the round trip that follows its final commit when it
    can be (`finish(..., release=)`); `complete()` afterwards, always, does whatever is left:
    the ordinary release if that round trip did not happen, else the waiters it promoted."""

    def __init__(self, project_id: uuid.UUID, execution_id: uuid.UUID, limit: int,
                 run_key: str) -> None:
        self.project_id, self.execution_id = project_id, execution_id
        self.limit, self.run_key = limit, run_key
        self.promoted: list[uuid.UUID] | None = None

    def add(self, pipe) -> None:
        concurrency.queue_release(pipe, self.project_id, self.execution_id, self.limit)
        run_control.unregister_run(self.run_key, pipe)

    def take(self, results: list[Any]) -> None:
        self.promoted = concurrency.promoted_ids(results[0])

    def complete(self) -> None:
        if self.promoted is None:
            release(self.project_id, self.execution_id, self.limit, run_key=self.run_key)
        elif self.promoted:
            _requeue_promoted(self.project_id, self.promoted)


def promote(project_id: uuid.UUID | str) -> None:
    """Give free slots of a project to its waiting runs and queue their jobs at the front."""
    limit = concurrency.limit_of(project_id)
    promoted = concurrency.release_and_promote(project_id, None, limit)
    if promoted:
        _requeue_promoted(project_id, promoted)


def _requeue_promoted(project_id: uuid.UUID | str, promoted: list[uuid.UUID]) -> None:
    limit = None
    for _ in range(50):
        rows = {e.id: e for e in db.session.scalars(
            select(TaskExecution).where(TaskExecution.id.in_(promoted)))}
        stale = False
        for eid in promoted:
            ex = rows.get(eid)
            if ex is None or ex.status != "queued":
                concurrency.forget(project_id, eid)
                stale = True
                continue
            queues.enqueue_run("execution", eid, ex.queue, at_front=True,
                               description=f"execution {eid} (slot freed)")
        if not stale:
            return
        limit = limit or concurrency.limit_of(project_id)
        promoted = concurrency.release_and_promote(project_id, None, limit)
        if not promoted:
            return
