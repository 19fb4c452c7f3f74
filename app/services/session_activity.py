"""What sockets and runs do to a session (app.services.sessions): a socket opening on it,
connecting and disconnecting, keeping it alive while open, and the tasks and commands run
through it — each a history event, and for runs a new state snapshot and a `session.*` event.
"""

from __future__ import annotations

import uuid

from sqlalchemy import update

from app.errors import AppError, iso, utcnow
from app.extensions import db
from app.models.project import Project
from app.models.session import UserSession
from app.models.task import Task
from app.models.user import User
from app.services import audit, sessions
from app.services.access import can_access


def open_for_socket(session_id: uuid.UUID, user: User) -> UserSession:
    """CONTRACT §6: the session exists, belongs to the caller and has not expired."""
    session = db.session.get(UserSession, session_id)
    if session is None or session.deleted_at is not None or session.user_id != user.id:
        raise AppError("SESSION_NOT_FOUND")
    if session.project_id is not None:
        project = db.session.get(Project, session.project_id)
        if project is not None and not can_access(user, project):
            raise AppError("PROJECT_ACCESS_DENIED")
    if sessions.effective_status(session) != "active":
        now = utcnow()
        sessions.touch(session, user, now)  # records the expiry once
        db.session.commit()
        raise AppError("SESSION_EXPIRED", "Session has expired; create a new one",
                       {"expired_at": iso(session.expires_at)})
    return session


def record_connected(session_id: uuid.UUID, user_id: uuid.UUID, connection_id: str,
                     remote_addr: str | None) -> None:
    session = db.session.get(UserSession, session_id)
    now = utcnow()
    session.last_accessed = now
    session.expires_at = now + sessions.ttl()
    sessions.record_event(session, "connected", user_id, {"connection_id": connection_id,
                                           "remote_addr": remote_addr})
    db.session.commit()


def record_disconnected(session_id: uuid.UUID, user_id: uuid.UUID, connection_id: str,
                        seconds: float, reason: str) -> None:
    session = db.session.get(UserSession, session_id)
    if session is None:
        return
    sessions.record_event(session, "disconnected", user_id, {"connection_id": connection_id,
                                              "duration_seconds": round(seconds, 3),
                                              "reason": reason})
    db.session.commit()


def keep_alive(session_ids: list[uuid.UUID]) -> int:
    """Sessions with open sockets stay in use (hub ticker, once a minute)."""
    now = utcnow()
    result = db.session.execute(
        update(UserSession)
        .where(UserSession.id.in_(session_ids), UserSession.status == "active",
               UserSession.expires_at > now, UserSession.deleted_at.is_(None))
        .values(last_accessed=now, expires_at=now + sessions.ttl()))
    db.session.commit()
    return result.rowcount or 0


def record_task_run(session_id: uuid.UUID, user_id: uuid.UUID, task_id: uuid.UUID,
                    execution_id: str | None, *, commit: bool = True) -> None:
    """A task run through the session: history, state (its task list) and a snapshot."""
    session = db.session.get(UserSession, session_id)
    if session is None:
        return
    task = db.session.get(Task, task_id)
    now = utcnow()
    state = sessions.current_state(session.id)
    entry = {"task_id": str(task_id), "title": task.title if task else None,
             "execution_id": execution_id, "added_at": iso(now)}
    state["tasks"] = [t for t in state.get("tasks", []) if t.get("task_id") != str(task_id)]
    state["tasks"].append(entry)
    sessions.record_event(session, "task_executed", user_id, {"task_id": str(task_id),
                                               "execution_id": execution_id})
    sessions.add_snapshot(session, "task_executed", state, at=now)
    if execution_id:
        from app.models.execution import TaskExecution

        db.session.execute(update(TaskExecution).where(
            TaskExecution.id == uuid.UUID(execution_id)).values(session_id=session.id))
    audit.record("session", session.id, "task_executed", user_id=user_id, field="tasks",
                 new=entry, project_id=session.project_id)
    sessions.announce(session, "task_executed", user_id, {"task_id": str(task_id),
                                                  "execution_id": execution_id})
    if commit:
        db.session.commit()


def record_command_run(session_id: uuid.UUID, user_id: uuid.UUID, command_id: uuid.UUID,
                       command: str, *, commit: bool = True) -> None:
    """A command run through the session (for the commands API when it passes a session)."""
    session = db.session.get(UserSession, session_id)
    if session is None:
        return
    now = utcnow()
    state = sessions.current_state(session.id)
    state["commands"] = [*state.get("commands", []),
                         {"command_id": str(command_id), "command": command[:500],
                          "run_at": iso(now)}][-sessions.MAX_COMMANDS_KEPT:]
    sessions.record_event(session, "command_run", user_id, {"command_id": str(command_id),
                                             "command": command[:500]})
    sessions.add_snapshot(session, "command_run", state, at=now)
    audit.record("session", session.id, "command_run", user_id=user_id, field="commands",
                 new=state["commands"][-1], project_id=session.project_id)
    sessions.announce(session, "command_run", user_id, {"command_id": str(command_id)})
    if commit:
        db.session.commit()
