"""A task's Claude runs as one conversation, and talking to a run while it works.

Follow-ups: `follow_up` starts a new execution of the task (through `executions.execute`, so
permissions, maintenance, dependencies, budgets and validation apply as to any run) that
resumes the task's last Claude session (`--resume=<session_id>`) with the new message as its
prompt. The CLI keeps a conversation's transcript under its config directory, keyed by the
working directory; every run of a project points the CLI's config directory
(`CLAUDE_CONFIG_DIR`) at `<workspace>/.claude-config` (private to the space's account), and
records the directory it ran in (`run_directory`), so any worker that shares the workspace
directory can resume it: in that same directory. A worker that cannot see the directory or the
transcript fails the run with `CLAUDE_RESUME_UNAVAILABLE` or `CLAUDE_SESSION_NOT_FOUND` and a
message saying which (`resume_problem`).

Live runs: a Claude run holds its CLI's stdin (`--input-format=stream-json`). Web processes
reach the worker through a Redis list per run (`notify`, the run's inbox), which the run loop
reads with its other checks (app.jobs.executors.claude_session): a message for the running
agent (`send_message`), an interrupt (`interrupt`), a decision on a permission request
(app.services.approvals). Each is written to the task's history where it is asked for.
"""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import select

from app.errors import AppError, ValidationFailed
from app.extensions import db, get_redis
from app.models.execution import TaskExecution
from app.models.user import User
from app.services import access, audit, workspace

log = logging.getLogger(__name__)
CONFIG_DIR = ".claude-config"  # in the project's workspace: the CLI's config and transcripts
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
MESSAGE_MAX = 32_768
INBOX_TTL = 86400
INBOX_TAKE = 50


def prompt_of(title: str, description: str | None, command: str | None) -> str:
    """A Claude task's prompt: its command when set, else its title and description."""
    if command and command.strip():
        return command
    return f"{title}\n\n{description}" if description else title


def user_line(text: str) -> bytes:
    """One stream-json input message from the user."""
    return (json.dumps({"type": "user", "message": {
        "role": "user", "content": [{"type": "text", "text": text}]}}) + "\n").encode()


def clean_message(text: Any, field: str = "message") -> str:
    """A message for Claude: non-blank text of at most MESSAGE_MAX characters (else 422)."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationFailed(field, "must not be empty", code="VALIDATION_REQUIRED_FIELD")
    if len(text) > MESSAGE_MAX:
        raise ValidationFailed(field, f"at most {MESSAGE_MAX} characters",
                               code="VALIDATION_VALUE_TOO_LONG")
    if "\x00" in text:
        raise ValidationFailed(field, "must not contain NUL bytes",
                               code="VALIDATION_INVALID_FORMAT")
    return text.replace("\r\n", "\n")


# ---------------------------------------------------------------- where transcripts live

def config_dir(project_id: uuid.UUID | str) -> Path:
    return workspace.project_dir(project_id) / CONFIG_DIR


def prepare_config_dir(project_id: uuid.UUID | str, identity: Any = None) -> str:
    """The project's CLI config directory, made ready for the run's account: a directory of
    its own (0700) holding a `.gitignore` of `*`, so a workspace that is a git repository never
    shows it. Opened without following symlinks (the workspace belongs to the runs' account: a
    run could have put a link there); anything but a directory is a ValueError."""
    base = os.open(workspace.project_dir(project_id),
                   os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        try:
            os.mkdir(CONFIG_DIR, 0o700, dir_fd=base)
        except FileExistsError:
            pass
        try:
            fd = os.open(CONFIG_DIR, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=base)
        except OSError as exc:
            raise ValueError(f"{config_dir(project_id)} is not a directory ({exc.strerror}); "
                             "remove it so the Claude CLI can keep its transcripts there") \
                from None
    finally:
        os.close(base)
    try:
        if identity is not None:
            os.fchown(fd, identity.uid, identity.gid)
        os.fchmod(fd, 0o700)
        try:
            ignore = os.open(".gitignore", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                             0o600, dir_fd=fd)
        except FileExistsError:
            pass
        else:
            try:
                if identity is not None:
                    os.fchown(ignore, identity.uid, identity.gid)
                os.write(ignore, b"*\n")
            finally:
                os.close(ignore)
    finally:
        os.close(fd)
    return str(config_dir(project_id))


def transcript_exists(directory: str | Path, session_id: str) -> bool:
    """Whether the CLI's config directory holds the session's transcript
    (`projects/<directory key>/<session id>.jsonl`)."""
    if not SESSION_ID.match(session_id or ""):
        return False
    return any((Path(directory) / "projects").glob(f"*/{session_id}.jsonl"))


def resume_problem(project_id: uuid.UUID, session_id: str, previous_directory: str | None,
                   worker: str) -> tuple[str, str] | None:
    """(error code, message) when this worker cannot resume `session_id`, else None. The run
    must work where the conversation was recorded, inside the project's workspace, and the
    transcript must be in the project's config directory as this worker sees it."""
    if previous_directory:
        base = os.path.realpath(workspace.project_dir(project_id))
        real = os.path.realpath(previous_directory)
        inside = real == base or real.startswith(base + os.sep)
        if not inside or not os.path.isdir(real):
            return ("CLAUDE_RESUME_UNAVAILABLE",
                    f"Cannot resume the Claude conversation {session_id} on worker {worker}: "
                    f"it was recorded in {previous_directory}, which "
                    + ("is outside this project's workspace here" if not inside else
                       "this worker cannot see")
                    + ". Follow-ups need workers that share the workspace directory "
                      "(WORKSPACE_ROOT).")
    directory = config_dir(project_id)
    if not transcript_exists(directory, session_id):
        return ("CLAUDE_SESSION_NOT_FOUND",
                f"Cannot resume the Claude conversation {session_id} on worker {worker}: its "
                f"transcript is not in {directory}. It was removed, or the run that made it "
                "used a workspace this worker does not share; execute the task again to start "
                "a new conversation.")
    return None


def recorded_directory(execution_id: uuid.UUID | None) -> str | None:
    """The directory a run really ran in (None for a run that did not record one)."""
    if execution_id is None:
        return None
    return db.session.scalar(select(TaskExecution.run_directory)
                             .where(TaskExecution.id == execution_id))


# ---------------------------------------------------------------- the run's inbox

def inbox_key(execution_id: uuid.UUID | str) -> str:
    return f"run-inbox:execution:{execution_id}"


def notify(execution_id: uuid.UUID | str, item: dict[str, Any]) -> None:
    """Hand `item` to the worker running the execution (its next check, within 0.1 s)."""
    key = inbox_key(execution_id)
    try:
        pipe = get_redis().pipeline(transaction=False)
        pipe.rpush(key, json.dumps(item))
        pipe.expire(key, INBOX_TTL)
        pipe.execute()
    except redis.RedisError as exc:
        raise AppError("SYSTEM_OVERLOADED", "Redis is unreachable: the running agent cannot be "
                       "reached right now") from exc


def take(execution_id: uuid.UUID | str, client: Any = None) -> list[dict[str, Any]]:
    """What waits in the run's inbox (removed), oldest first; Redis errors propagate."""
    raw = (client or get_redis()).lpop(inbox_key(execution_id), INBOX_TAKE) or []
    items = []
    for value in raw:
        try:
            item = json.loads(value)
        except (TypeError, ValueError):
            continue
        if isinstance(item, dict):
            items.append(item)
    return items


# ---------------------------------------------------------------- what people ask

def name_of(user: User) -> str:
    return user.full_name or user.username


def last_session(task_id: uuid.UUID) -> TaskExecution | None:
    """The task's latest run that has a Claude session id (the conversation to continue)."""
    return db.session.scalar(
        select(TaskExecution).where(TaskExecution.task_id == task_id,
                                    TaskExecution.claude_session_id.is_not(None))
        .order_by(TaskExecution.created_at.desc(), TaskExecution.id.desc()).limit(1))


def follow_up(task_id: uuid.UUID, user: User, message: Any, priority: str = "normal",
              options: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST /api/tasks/{id}/follow-up: a new run continuing the task's last conversation."""
    from app.services import executions

    text = clean_message(message)
    task = access.get_task(task_id, user, write=True)
    if task.executor != "claude":
        raise AppError("CLAUDE_NO_SESSION", "Only Claude tasks have a conversation to follow "
                       "up; this one runs a shell command")
    last = last_session(task.id)
    if last is None or not SESSION_ID.match(last.claude_session_id or ""):
        raise AppError("CLAUDE_NO_SESSION", "This task has no Claude conversation to continue "
                       "yet: execute it first")
    answer = executions.execute(task.id, user, priority, options, conversation={
        "prompt": text, "resume_session_id": last.claude_session_id, "follow_up_of": last.id})
    answer.update(resume_session_id=last.claude_session_id, follow_up_of=str(last.id))
    return answer


def _live_run(execution_id: uuid.UUID, user: User) -> TaskExecution:
    """A running Claude run the user may talk to (else 404/403/409)."""
    ex = db.session.get(TaskExecution, execution_id)
    if ex is None:
        raise AppError("EXECUTION_NOT_FOUND")
    try:
        access.get_task(ex.task_id, user, write=True)
    except AppError as exc:
        raise (AppError("EXECUTION_NOT_FOUND") if exc.code == "TASK_NOT_FOUND" else exc) \
            from None
    if ex.executor != "claude":
        raise AppError("EXECUTION_NOT_RUNNING", "Only a Claude run takes messages")
    if ex.status != "running" or ex.run_directory is None:
        raise AppError("EXECUTION_NOT_RUNNING",
                       f"The run is {ex.status}, not running: use Follow up to continue the "
                       "conversation" if ex.status != "running" else
                       "This run was started before runs took messages", {"status": ex.status})
    return ex


def send_message(execution_id: uuid.UUID, user: User, message: Any) -> dict[str, Any]:
    """POST /api/executions/{id}/messages: a message for the running agent (history first,
    then the worker's inbox; the worker adds it to the output when it writes it)."""
    text = clean_message(message)
    ex = _live_run(execution_id, user)
    item = {"kind": "message", "id": str(uuid.uuid4()), "text": text, "by": str(user.id),
            "by_name": name_of(user)}
    audit.record("task", ex.task_id, "message_sent", user_id=user.id, project_id=ex.project_id,
                 details={"execution_id": str(ex.id), "message_id": item["id"],
                          "message": text[:2000]})
    db.session.commit()
    notify(ex.id, item)
    return {"execution_id": str(ex.id), "message_id": item["id"], "status": "sent"}


def interrupt(execution_id: uuid.UUID, user: User, message: Any = None) -> dict[str, Any]:
    """POST /api/executions/{id}/interrupt: stop what the agent is doing now (the CLI's
    `interrupt`); with `message`, that message is its next instruction, else the run ends
    (cancelled, "interrupted") and can be followed up."""
    text = clean_message(message) if message not in (None, "") else None
    ex = _live_run(execution_id, user)
    audit.record("task", ex.task_id, "interrupt_requested", user_id=user.id,
                 project_id=ex.project_id, details={
                     "execution_id": str(ex.id), **({"message": text[:2000]} if text else {})})
    db.session.commit()
    notify(ex.id, {"kind": "interrupt", "by": str(user.id), "by_name": name_of(user)})
    if text is not None:
        notify(ex.id, {"kind": "message", "id": str(uuid.uuid4()), "text": text,
                       "by": str(user.id), "by_name": name_of(user)})
    return {"execution_id": str(ex.id), "status": "interrupting", "message": text}
