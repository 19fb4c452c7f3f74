"""Work sessions (`/api/sessions`, `/ws/{session_id}`): lifetime, history, snapshots, restore.

A session belongs to one user and optionally a project (which the user must be able to see).
It lives `SESSION_TTL_SECONDS` (2 h) after its last access: API use by its owner and open
sockets (refreshed by the hub) keep it alive; an expired session still reads but refuses new
sockets and changes (409 SESSION_EXPIRED). Deleting closes it (soft delete) and ends its
sockets.

State = settings + the tasks and commands run through the session. Every change of state writes
a snapshot; `restore` copies the settings and/or task list of the latest snapshot at or before a
point in time into a new snapshot. History (`session_events`) records creation, settings
changes, socket connects and disconnects, runs, expiry, restores and deletion. Every change is
also an audit entry and an event (`session.*`).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, or_, select

from app.errors import AppError, ValidationFailed, iso, utcnow
from app.extensions import db
from app.models.command import CommandRun
from app.models.project import Project
from app.models.session import SessionEvent, SessionSnapshot, UserSession
from app.models.task import Task
from app.models.user import User
from app.services import audit, events, validation
from app.services.access import can_access, get_project
from app.services.pagination import Page, paginate

MAX_COMMANDS_KEPT = 100


def ttl() -> timedelta:
    return timedelta(seconds=int(current_app.config["SESSION_TTL_SECONDS"]))


def effective_status(session: UserSession, now: datetime | None = None) -> str:
    if session.status == "active" and session.expires_at <= (now or utcnow()):
        return "expired"
    return session.status


# ---------------------------------------------------------------- serializers

def session_dict(session: UserSession, project_name: str | None = None) -> dict[str, Any]:
    out = {
        "session_id": str(session.id),
        "project_id": str(session.project_id) if session.project_id else None,
        "user_id": str(session.user_id),
        "status": effective_status(session),
        "created_at": iso(session.created_at),
        "last_accessed": iso(session.last_accessed),
        "expires_at": iso(session.expires_at),
        "settings": dict(session.settings or {}),
    }
    if project_name is not None:
        out["project_name"] = project_name
    return out


def session_detail(session: UserSession) -> dict[str, Any]:
    """The session, its project's name, its current state (tasks with live status) and
    counts."""
    project = db.session.get(Project, session.project_id) if session.project_id else None
    state = current_state(session.id)
    task_ids = [_uuid(t.get("task_id")) for t in state.get("tasks", [])]
    found = {t.id: t for t in db.session.scalars(
        select(Task).where(Task.id.in_([t for t in task_ids if t])))} if task_ids else {}
    tasks = []
    for entry in state.get("tasks", []):
        task = found.get(_uuid(entry.get("task_id")))
        alive = task is not None and task.deleted_at is None
        tasks.append({**entry, "title": task.title if alive else entry.get("title"),
                      "status": task.status if alive else "deleted"})
    events_count = db.session.scalar(select(db.func.count()).select_from(SessionEvent).where(
        SessionEvent.session_id == session.id)) or 0
    commands = list(state.get("commands", []))
    known = {c.get("command_id") for c in commands}
    for run in db.session.scalars(select(CommandRun).where(
            CommandRun.session_id == session.id).order_by(CommandRun.created_at)):
        if str(run.id) not in known:
            commands.append({"command_id": str(run.id), "command": run.command[:500],
                             "run_at": iso(run.created_at), "status": run.status})
    return {**session_dict(session, project.name if project else None),
            "state": {"tasks": tasks, "commands": commands[-MAX_COMMANDS_KEPT:]},
            "history_count": events_count}


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------- internals

def record_event(session: UserSession, event_type: str, user_id: uuid.UUID | None,
           details: dict[str, Any] | None = None) -> None:
    db.session.add(SessionEvent(session_id=session.id, user_id=user_id, event_type=event_type,
                                details=details))


def current_state(session_id: uuid.UUID) -> dict[str, Any]:
    """The state in the latest snapshot (tasks and commands run through the session)."""
    snap = db.session.scalar(select(SessionSnapshot).where(
        SessionSnapshot.session_id == session_id)
        .order_by(SessionSnapshot.created_at.desc(), SessionSnapshot.id.desc()).limit(1))
    return dict(snap.state) if snap and snap.state else {"tasks": [], "commands": []}


def add_snapshot(session: UserSession, reason: str, state: dict[str, Any],
              at: datetime | None = None) -> SessionSnapshot:
    snap = SessionSnapshot(session_id=session.id, reason=reason,
                           settings=dict(session.settings or {}), state=state,
                           created_at=at or utcnow())
    db.session.add(snap)
    return snap


def announce(session: UserSession, kind: str, user_id: uuid.UUID | None,
              extra: dict[str, Any] | None = None) -> None:
    events.emit(f"session.{kind}", {**session_dict(session), **(extra or {})},
                session_id=session.id, user_id=session.user_id, project_id=session.project_id,
                actor_id=user_id)


def touch(session: UserSession, user: User, now: datetime) -> None:
    """Owner use keeps an active session alive; an expired one is marked so, once."""
    if session.user_id != user.id or session.status != "active":
        return
    if session.expires_at <= now:
        session.status = "expired"
        record_event(session, "expired", None, {"expired_at": iso(session.expires_at)})
        audit.record("session", session.id, "expired", user_id=None, field="status",
                     old="active", new="expired", project_id=session.project_id)
        announce(session, "expired", None)
        return
    session.last_accessed = now
    session.expires_at = now + ttl()


def _load(session_id: uuid.UUID, user: User) -> UserSession:
    """The session if `user` owns it (or is an admin) and may still see its project."""
    session = db.session.get(UserSession, session_id)
    if session is None or session.deleted_at is not None:
        raise AppError("SESSION_NOT_FOUND")
    if session.user_id != user.id and not user.is_admin:
        raise AppError("SESSION_NOT_FOUND")
    if session.project_id is not None:
        project = db.session.get(Project, session.project_id)
        if project is not None and not can_access(user, project):
            raise AppError("PROJECT_ACCESS_DENIED")
    return session


def usable_session(session_id: uuid.UUID, user: User) -> UserSession:
    """A session `user` may run things through: theirs (or an admin's view), not expired."""
    session = _load(session_id, user)
    _writable(session)
    return session


def _writable(session: UserSession) -> None:
    if effective_status(session) == "expired":
        raise AppError("SESSION_EXPIRED", "Session has expired; create a new one",
                       {"expired_at": iso(session.expires_at)})


# ---------------------------------------------------------------- API operations

def create_session(user: User, project_id: uuid.UUID | None = None,
                   settings: dict[str, Any] | None = None) -> UserSession:
    project = get_project(project_id, user) if project_id else None
    clean = validation.json_object("settings", settings)
    now = utcnow()
    session = UserSession(id=uuid.uuid4(), user_id=user.id,
                          project_id=project.id if project else None, status="active",
                          settings=clean, created_at=now, last_accessed=now,
                          expires_at=now + ttl())
    db.session.add(session)
    db.session.flush()
    record_event(session, "created", user.id, {"project_id": session_dict(session)["project_id"],
                                         "settings": clean})
    add_snapshot(session, "created", {"tasks": [], "commands": []}, at=now)
    audit.record("session", session.id, "created", user_id=user.id,
                 new=session_dict(session), project_id=session.project_id)
    announce(session, "created", user.id)
    db.session.commit()
    return session


def get_session(session_id: uuid.UUID, user: User) -> UserSession:
    """Read (and, for its owner, keep alive)."""
    session = _load(session_id, user)
    touch(session, user, utcnow())
    db.session.commit()
    return session


def list_sessions(user: User, *, status: str | None = None,
                  project_id: uuid.UUID | None = None, page: int = 1, page_size: int = 50,
                  order: str = "desc") -> tuple[Page, dict[uuid.UUID, str]]:
    """The caller's own sessions, most recently used first; `status` is the effective one."""
    now = utcnow()
    query = select(UserSession).where(UserSession.user_id == user.id,
                                      UserSession.deleted_at.is_(None))
    if status == "active":
        query = query.where(UserSession.status == "active", UserSession.expires_at > now)
    elif status == "expired":
        query = query.where(or_(UserSession.status == "expired",
                                and_(UserSession.status == "active",
                                     UserSession.expires_at <= now)))
    elif status:
        query = query.where(UserSession.status == status)
    if project_id:
        query = query.where(UserSession.project_id == project_id)
    sort = UserSession.last_accessed.desc() if order == "desc" else UserSession.last_accessed
    result = paginate(query.order_by(sort, UserSession.id), page, page_size)
    ids = {s.project_id for s in result.items if s.project_id}
    names = {p.id: p.name for p in db.session.scalars(
        select(Project).where(Project.id.in_(ids)))} if ids else {}
    return result, names


def update_settings(session_id: uuid.UUID, user: User, changes: dict[str, Any]) -> UserSession:
    """Merge `changes` into the settings (a null value removes the key)."""
    session = _load(session_id, user)
    _writable(session)
    old = dict(session.settings or {})
    merged = {**old, **changes}
    merged = {k: v for k, v in merged.items() if v is not None}
    validation.json_object("settings", merged)
    now = utcnow()
    touch(session, user, now)
    if merged != old:
        changed = sorted(k for k in set(old) | set(merged) if old.get(k) != merged.get(k))
        session.settings = merged
        record_event(session, "settings_changed", user.id,
               {"changed": changed, "old": {k: old.get(k) for k in changed},
                "new": {k: merged.get(k) for k in changed}})
        add_snapshot(session, "settings_changed", current_state(session.id), at=now)
        audit.record("session", session.id, "updated", user_id=user.id, field="settings",
                     old=old, new=merged, project_id=session.project_id)
        announce(session, "updated", user.id, {"changes": changed})
    db.session.commit()
    return session


def delete_session(session_id: uuid.UUID, user: User) -> dict[str, Any]:
    session = _load(session_id, user)
    now = utcnow()
    old_status = session.status
    session.status = "closed"
    session.deleted_at = now
    record_event(session, "deleted", user.id)
    audit.record("session", session.id, "deleted", user_id=user.id, field="status",
                 old=old_status, new="closed", project_id=session.project_id)
    announce(session, "deleted", user.id, {"deleted_at": iso(now)})
    db.session.commit()
    return {"message": "Session deleted successfully", "session_id": str(session.id),
            "deleted_at": iso(now)}


def history(session_id: uuid.UUID, user: User, page: int = 1, page_size: int = 50,
            order: str = "asc") -> dict[str, Any]:
    """The session's events, plus the commands run with its id (`command_runs.session_id`,
    as the commands API records them), oldest first unless `order` is desc."""
    session = _load(session_id, user)
    entries = [(e.created_at, e.id, {"id": e.id, "action": e.event_type, "user_id": e.user_id,
                                     "details": e.details or {}})
               for e in db.session.scalars(select(SessionEvent).where(
                   SessionEvent.session_id == session.id))]
    recorded = {str((x[2]["details"] or {}).get("command_id")) for x in entries
                if x[2]["action"] == "command_run"}
    for run in db.session.scalars(select(CommandRun).where(
            CommandRun.session_id == session.id)):
        if str(run.id) not in recorded:
            entries.append((run.created_at, 0, {
                "id": f"command-{run.id}", "action": "command_run", "user_id": run.user_id,
                "details": {"command_id": str(run.id), "command": run.command[:500],
                            "status": run.status, "exit_code": run.exit_code}}))
    entries.sort(key=lambda x: (x[0], x[1]), reverse=order == "desc")
    total = len(entries)
    chunk = entries[(page - 1) * page_size: page * page_size]
    user_ids = {x[2]["user_id"] for x in chunk if x[2]["user_id"]}
    names = {u.id: u.display_name for u in db.session.scalars(
        select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    result = Page(items=chunk, total=total, page=page, page_size=page_size)
    return {
        "session_id": str(session.id),
        "history": [{**x[2], "timestamp": iso(x[0]),
                     "user_id": str(x[2]["user_id"]) if x[2]["user_id"] else None,
                     "user_name": names.get(x[2]["user_id"])} for x in chunk],
        "total": total, "page": page, "page_size": page_size, "pages": result.pages,
        "has_next": result.has_next, "has_previous": result.has_previous,
    }


def restore(session_id: uuid.UUID, user: User, restore_point: datetime, *,
            include_tasks: bool = True, include_settings: bool = True) -> dict[str, Any]:
    """Bring back the settings and/or task list of the latest snapshot at or before
    `restore_point`; the restore is itself recorded (history, snapshot, audit, event)."""
    session = _load(session_id, user)
    _writable(session)
    if not (include_tasks or include_settings):
        raise ValidationFailed("include_settings", "nothing to restore: include_settings and "
                               "include_tasks are both false")
    point = restore_point if restore_point.tzinfo else restore_point.replace(
        tzinfo=utcnow().tzinfo)
    if point < session.created_at:
        raise ValidationFailed("restore_point", f"is before the session was created "
                               f"({iso(session.created_at)})", created_at=iso(session.created_at))
    snap = db.session.scalar(select(SessionSnapshot).where(
        SessionSnapshot.session_id == session.id, SessionSnapshot.created_at <= point)
        .order_by(SessionSnapshot.created_at.desc(), SessionSnapshot.id.desc()).limit(1))
    if snap is None:  # clock precision on some databases: fall back to the first snapshot
        snap = db.session.scalar(select(SessionSnapshot).where(
            SessionSnapshot.session_id == session.id)
            .order_by(SessionSnapshot.created_at, SessionSnapshot.id).limit(1))
    now = utcnow()
    state = current_state(session.id)
    old_settings = dict(session.settings or {})
    if include_settings:
        session.settings = dict(snap.settings or {})
    if include_tasks:
        state["tasks"] = list((snap.state or {}).get("tasks", []))
    touch(session, user, now)
    source = {"snapshot_id": snap.id, "snapshot_at": iso(snap.created_at),
              "snapshot_reason": snap.reason}
    details = {"restore_point": iso(point), **source, "include_tasks": include_tasks,
               "include_settings": include_settings}
    record_event(session, "restored", user.id, details)
    add_snapshot(session, "restored", state, at=now)
    audit.record("session", session.id, "restored", user_id=user.id, field="settings",
                 old=old_settings, new=dict(session.settings or {}), details=details,
                 project_id=session.project_id)
    announce(session, "restored", user.id, {"restored_from": source})
    db.session.commit()
    return {**session_detail(session), "restored_from": source,
            "restored": {"settings": include_settings, "tasks": include_tasks}}
