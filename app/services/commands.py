"""Commands (CONTRACT §4): a command line run on a worker (high queue), outside any task.

`execute` refuses what `command_safety` finds unsafe (unless an admin forces it), resolves the
working directory inside the project's workspace (or the caller's private scratch directory, see
app.services.workspace), then queues the job and
waits briefly so that a command that starts at once is answered as `running` with its pid.
Visibility: the caller's own commands, every command of a project the caller may see, all for
admins; anyone else gets 403 PROJECT_ACCESS_DENIED for a project's command and 404 otherwise.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import redis
from sqlalchemy import func, select, update

from app.errors import AppError, ValidationFailed, iso, utcnow
from app.extensions import db
from app.models.command import CommandRun
from app.models.project import Project
from app.models.user import User
from app.services import (
    access,
    audit,
    command_safety,
    environment,
    events,
    queues,
    run_control,
    session_activity,
    sessions,
    workspace,
)
from app.services.durations import run_seconds
from app.services.engine_config import setting
from app.services.execution_lifecycle import FINAL, Outcome
from app.services.output import read as read_output
from app.services.system import maintenance_state

QUEUE = "high"


def key(command_id: uuid.UUID | str) -> str:
    return run_control.owner_key("command", command_id)


def serialize(cmd: CommandRun) -> dict[str, Any]:
    return {
        "command_id": str(cmd.id), "command": cmd.command, "status": cmd.status,
        "pid": cmd.pid, "exit_code": cmd.exit_code,
        "project_id": str(cmd.project_id) if cmd.project_id else None,
        "user_id": str(cmd.user_id), "working_directory": cmd.working_directory,
        "timeout": cmd.timeout, "queue": cmd.queue, "forced": cmd.forced,
        "created_at": iso(cmd.created_at), "started_at": iso(cmd.started_at),
        "completed_at": iso(cmd.finished_at), "cancelled_at": iso(cmd.cancelled_at),
        "duration": run_seconds(cmd.started_at, cmd.finished_at),
        "error": ({"code": cmd.error_code, "message": cmd.error_message}
                  if cmd.error_code or cmd.error_message else None),
        "cancel_reason": cmd.cancel_reason, "output_lines": cmd.last_seq,
        "output_bytes": cmd.output_bytes, "output_truncated": cmd.output_truncated,
    }


def _event(cmd: CommandRun, user_id: uuid.UUID | None = None) -> None:
    events.emit("command.updated", serialize(cmd), command_id=cmd.id, project_id=cmd.project_id,
                user_id=user_id or cmd.user_id)


def _record(cmd: CommandRun, old: str | None, new: str, user_id: uuid.UUID | None,
            action: str = "status_changed", details: dict[str, Any] | None = None) -> None:
    audit.record("command", cmd.id, action, user_id=user_id, field="status", old=old, new=new,
                 details=details, project_id=cmd.project_id)


# ---- API side --------------------------------------------------------------------------------

def execute(user: User, command: str, *, working_directory: str | None = None,
            timeout: int | None = None, env: dict[str, Any] | None = None,
            stream_output: bool = True, project_id: uuid.UUID | None = None,
            force: bool = False, session_id: uuid.UUID | None = None) -> dict[str, Any]:
    """POST /api/commands/execute."""
    state = maintenance_state()
    if state.get("enabled"):
        raise AppError("SYSTEM_MAINTENANCE", state.get("message") or None)
    report = command_safety.analyze(command)
    if not report.valid and report.syntax_error:
        raise ValidationFailed("command", report.warnings[0], warnings=report.warnings,
                               suggestions=report.suggestions)
    forced = False
    if not report.safe:
        if not (force and user.is_admin):
            raise AppError("VALIDATION_ERROR", "Command refused as unsafe: "
                           + "; ".join(report.warnings[1:] or report.warnings),
                           {"field": "command", "issue": (report.warnings[1:] or
                                                          report.warnings)[0],
                            "warnings": report.warnings, "suggestions": report.suggestions,
                            "force": "only an admin may force an unsafe command"})
        forced = True
    project = access.get_project(project_id, user, write=True) if project_id else None
    if session_id is not None:
        sessions.usable_session(session_id, user)
    clean_env = environment.validate(env)
    project_ref = project.id if project else None
    workspace.create(project_ref, user.id)
    directory = workspace.resolve(project_ref, working_directory, user_id=user.id)
    if not directory.is_dir():
        raise ValidationFailed("working_directory", "does not exist in the workspace")
    queues.check_capacity(QUEUE)
    cmd = CommandRun(user_id=user.id, project_id=project.id if project else None,
                     session_id=session_id, command=command,
                     working_directory=working_directory or None, environment=clean_env,
                     timeout=timeout or int(setting("COMMAND_DEFAULT_TIMEOUT")),
                     stream_output=stream_output, forced=forced, status="queued", queue=QUEUE,
                     details={"warnings": report.warnings} if report.warnings else None)
    db.session.add(cmd)
    db.session.flush()
    _record(cmd, None, "queued", user.id, action="created",
            details={"command": command, "forced": forced, "warnings": report.warnings})
    _event(cmd, user.id)
    if session_id is not None:
        session_activity.record_command_run(session_id, user.id, cmd.id, command, commit=False)
    try:
        cmd.job_id = queues.enqueue_run("command", cmd.id, QUEUE,
                                        description=f"command {command[:80]}")
    except (redis.RedisError, OSError) as exc:
        db.session.rollback()
        raise AppError("SYSTEM_OVERLOADED", "The job queue (Redis) is unreachable; nothing was "
                       "queued, try again later") from exc
    db.session.commit()
    return _answer_soon(cmd.id)


def _answer_soon(command_id: uuid.UUID) -> dict[str, Any]:
    deadline = time.monotonic() + float(setting("COMMAND_START_WAIT"))
    while True:
        db.session.rollback()
        cmd = db.session.get(CommandRun, command_id, populate_existing=True)
        if cmd.status != "queued" or time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    out = {"command_id": str(cmd.id), "status": cmd.status, "pid": cmd.pid,
           "started_at": iso(cmd.started_at), "queue": cmd.queue}
    if cmd.status == "queued":
        out["queue_position"] = queues.position("command", cmd.id, cmd.queue)
    if cmd.status in FINAL:
        out.update(exit_code=cmd.exit_code, completed_at=iso(cmd.finished_at))
    return out


def visible(user: User):
    """WHERE clause: the commands `user` may see."""
    if user.is_admin:
        return CommandRun.id.is_not(None)
    return (CommandRun.user_id == user.id) | CommandRun.project_id.in_(
        access.visible_project_ids(user))


def get_command(command_id: uuid.UUID, user: User) -> CommandRun:
    cmd = db.session.get(CommandRun, command_id)
    if cmd is None:
        raise AppError("COMMAND_NOT_FOUND")
    if user.is_admin or cmd.user_id == user.id:
        return cmd
    if cmd.project_id is not None:
        project = db.session.get(Project, cmd.project_id)
        if project is not None and access.can_access(user, project):
            return cmd
        raise AppError("PROJECT_ACCESS_DENIED")
    raise AppError("COMMAND_NOT_FOUND")


def status(command_id: uuid.UUID, user: User, after_seq: int = 0, limit: int = 1000
           ) -> dict[str, Any]:
    data = serialize(get_command(command_id, user))
    data.update(read_output("command", command_id, after_seq, limit))
    return data


def cancel(command_id: uuid.UUID, user: User, reason: str | None = None) -> dict[str, Any]:
    """Queued: removed from the queue. Running: SIGTERM to its process group, then SIGKILL."""
    cmd = get_command(command_id, user)
    if cmd.status in FINAL:
        raise AppError("TASK_INVALID_TRANSITION", f"Command already {cmd.status}",
                       {"field": "status", "issue": "must be queued or running"})
    reason = reason or "Cancelled by user"
    if cmd.status == "queued" and cancel_queued(cmd, reason, user.id):
        pass
    else:
        run_control.request_cancel(key(cmd.id), reason, str(user.id))
        if not run_control.is_alive(key(cmd.id)):
            finish(cmd.id, Outcome(status="cancelled", error_code="TASK_CANCELLED",
                                   cancel_reason=reason,
                                   error_message="Cancelled; its worker was no longer running"),
                   user.id)
        deadline = time.monotonic() + float(setting("CANCEL_WAIT_SECONDS"))
        while time.monotonic() < deadline:
            db.session.rollback()
            current = db.session.scalar(select(CommandRun.status)
                                        .where(CommandRun.id == cmd.id))
            if current in FINAL:
                break
            time.sleep(0.05)
    db.session.rollback()
    cmd = db.session.get(CommandRun, command_id, populate_existing=True)
    return {"command_id": str(cmd.id), "status": cmd.status,
            "cancelled_at": iso(cmd.cancelled_at), "exit_code": cmd.exit_code,
            "reason": cmd.cancel_reason}


def cancel_queued(cmd: CommandRun, reason: str, user_id: uuid.UUID | None) -> bool:
    now = utcnow()
    result = db.session.execute(
        update(CommandRun).where(CommandRun.id == cmd.id, CommandRun.status == "queued")
        .values(status="cancelled", cancelled_at=now, finished_at=now, cancel_reason=reason,
                error_code="TASK_CANCELLED").execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        return False
    db.session.refresh(cmd)
    _record(cmd, "queued", "cancelled", user_id, details={"reason": reason})
    _event(cmd, user_id)
    db.session.commit()
    queues.remove_run("command", cmd.id)
    return True


def running(user: User) -> dict[str, Any]:
    rows = list(db.session.scalars(select(CommandRun).where(
        visible(user), CommandRun.status == "running").order_by(CommandRun.started_at)))
    items = [{"command_id": str(c.id), "command": c.command, "status": c.status, "pid": c.pid,
              "started_at": iso(c.started_at), "duration": run_seconds(c.started_at, c.finished_at),
              "user_id": str(c.user_id),
              "project_id": str(c.project_id) if c.project_id else None} for c in rows]
    return {"commands": items, "total_running": len(items)}


def history(user: User, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """The caller's commands, newest first (everyone's for an admin)."""
    where = CommandRun.id.is_not(None) if user.is_admin else CommandRun.user_id == user.id
    total = db.session.scalar(select(func.count()).select_from(CommandRun).where(where)) or 0
    rows = db.session.scalars(select(CommandRun).where(where)
                              .order_by(CommandRun.created_at.desc(), CommandRun.id)
                              .limit(limit).offset(offset))
    items = [{"command_id": str(c.id), "command": c.command, "status": c.status,
              "started_at": iso(c.started_at), "completed_at": iso(c.finished_at),
              "exit_code": c.exit_code, "duration": run_seconds(c.started_at, c.finished_at),
              "user_id": str(c.user_id),
              "project_id": str(c.project_id) if c.project_id else None} for c in rows]
    return {"commands": items, "total": total, "limit": limit, "offset": offset}


# ---- worker side -------------------------------------------------------------------------------

def mark_running(command_id: uuid.UUID, worker_name: str, pid: int | None) -> CommandRun | None:
    now = utcnow()
    result = db.session.execute(
        update(CommandRun).where(CommandRun.id == command_id, CommandRun.status == "queued")
        .values(status="running", started_at=now, heartbeat_at=now, worker_name=worker_name,
                pid=pid).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        return None
    cmd = db.session.get(CommandRun, command_id, populate_existing=True)
    _record(cmd, "queued", "running", None, details={"worker": worker_name, "pid": pid})
    _event(cmd)
    db.session.commit()
    return cmd


def finish(command_id: uuid.UUID, outcome: Outcome, user_id: uuid.UUID | None = None
           ) -> CommandRun | None:
    cmd = db.session.get(CommandRun, command_id, populate_existing=True)
    if cmd is None or cmd.status in FINAL:
        db.session.rollback()
        return None
    old = cmd.status
    now = utcnow()
    cmd.status = outcome.status
    cmd.finished_at = now
    cmd.exit_code = outcome.exit_code
    cmd.error_code = outcome.error_code
    cmd.error_message = outcome.error_message
    if outcome.status == "cancelled":
        cmd.cancelled_at = now
        cmd.cancel_reason = outcome.cancel_reason
    if outcome.last_seq is not None:
        cmd.last_seq = outcome.last_seq
        cmd.output_bytes = outcome.output_bytes or 0
        cmd.output_truncated = bool(outcome.truncated)
    _record(cmd, old, cmd.status, user_id,
            details={"exit_code": cmd.exit_code, "error": cmd.error_message,
                     "reason": cmd.cancel_reason})
    _event(cmd, user_id)
    db.session.commit()
    return cmd
