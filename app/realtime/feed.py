"""Events (app.services.events) as socket messages, with the few facts an event does not carry.

Maintenance is told to every socket, whatever it subscribed to: the switch as it happens
(`system.maintenance` → a `notification`, and the pages' banner), and its state to a socket
that opens while it is on (`maintenance_now`).

`task_completed` wants the run's exit code and "your task failed" needs to know whose task it
is; both come from the database once per event per process (memoized by event id), however
many sockets show the event.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models.execution import TaskExecution
from app.models.task import Task
from app.realtime import protocol

_MEMO_SIZE = 512
_memo: OrderedDict[str, dict[str, Any]] = OrderedDict()
_memo_lock = threading.Lock()


def _ids(event: dict[str, Any]) -> tuple[str | None, str | None]:
    data = event.get("data") or {}
    scope = event.get("scope") or {}
    task_id = data.get("task_id") or scope.get("task_id") or data.get("id")
    project_id = data.get("project_id") or scope.get("project_id")
    return (str(task_id) if task_id else None, str(project_id) if project_id else None)


def task_facts(event: dict[str, Any]) -> dict[str, Any]:
    """Title, the people it concerns (creator, assignee, who ran it) and the latest run's exit
    code and error of the event's task."""
    key = event.get("id") or ""
    with _memo_lock:
        hit = _memo.get(key)
        if hit is not None:
            _memo.move_to_end(key)
            return hit
    facts = _load_facts(_ids(event)[0])
    with _memo_lock:
        _memo[key] = facts
        while len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)
    return facts


def _load_facts(task_id: str | None) -> dict[str, Any]:
    facts: dict[str, Any] = {"title": None, "people": set(), "exit_code": None, "error": None,
                             "execution_id": None}
    if not task_id:
        return facts
    try:
        tid = uuid.UUID(task_id)
    except ValueError:
        return facts
    try:
        task = db.session.get(Task, tid)
        if task is not None:
            facts["title"] = task.title
            facts["people"] = {str(u) for u in (task.created_by, task.assigned_to) if u}
        run = db.session.scalar(select(TaskExecution).where(TaskExecution.task_id == tid)
                                .order_by(TaskExecution.created_at.desc()).limit(1))
        if run is not None:
            facts["exit_code"] = run.exit_code
            facts["error"] = run.error_message
            facts["execution_id"] = str(run.id)
            if run.triggered_by:
                facts["people"].add(str(run.triggered_by))
    finally:
        db.session.remove()
    return facts


def task_update(event: dict[str, Any]) -> str:
    data = dict(event.get("data") or {})
    task_id, project_id = _ids(event)
    data.update(task_id=task_id, project_id=project_id, event=event.get("event"))
    data.setdefault("progress_percentage", None)
    data.setdefault("updated_at", event.get("timestamp"))
    return protocol.message("task_update", data, event.get("timestamp"))


def is_finish(event: dict[str, Any]) -> bool:
    """task.completed / task.failed, and a task.updated to cancelled (the run is over too)."""
    kind = event.get("event")
    status = (event.get("data") or {}).get("status")
    return kind in ("task.completed", "task.failed") or (
        kind == "task.updated" and status == "cancelled")


def task_completed(event: dict[str, Any]) -> str:
    data = event.get("data") or {}
    task_id, project_id = _ids(event)
    facts = task_facts(event)
    return protocol.message("task_completed", {
        "task_id": task_id, "project_id": project_id, "status": data.get("status"),
        "completed_at": data.get("completed_at") or data.get("updated_at")
        or event.get("timestamp"),
        "duration": data.get("duration"), "exit_code": facts["exit_code"],
        "execution_id": facts["execution_id"], "error": facts["error"],
    }, event.get("timestamp"))


def project_update(event: dict[str, Any]) -> str:
    data = dict(event.get("data") or {})
    data.update(project_id=_ids(event)[1], event=event.get("event"))
    return protocol.message("project_update", data, event.get("timestamp"))


def task_failed_notice(event: dict[str, Any], user_id: str) -> str | None:
    """"A task of yours failed", for its creator, assignee or whoever ran it."""
    facts = task_facts(event)
    if user_id not in facts["people"]:
        return None
    task_id, project_id = _ids(event)
    reason = f": {facts['error']}" if facts["error"] else ""
    return protocol.notification(
        "error", "Task failed", f"Task '{facts['title'] or task_id}' failed{reason}",
        actions=[{"label": "Dismiss", "action": "dismiss"},
                 {"label": "View Details", "action": "view_details",
                  "url": f"/tasks/{task_id}"}],
        event="task.failed", task_id=task_id, project_id=project_id)


def system_notice(event: dict[str, Any]) -> str:
    """Maintenance on/off and system alerts (worker lost, Redis back) as notifications."""
    data = event.get("data") or {}
    if event.get("event") == "system.maintenance":
        on = bool(data.get("enabled"))
        text = data.get("message") or ("The system is in maintenance mode: changes are refused "
                                       "until it ends." if on else "Maintenance has ended.")
        return protocol.notification(
            "warning" if on else "info",
            "System Maintenance" if on else "Maintenance Finished", text,
            event="system.maintenance", enabled=on, since=data.get("since"))
    return protocol.notification(
        data.get("level") or "error", data.get("title") or "System Alert",
        data.get("message") or "A system alert was raised.",
        actions=[{"label": "Dismiss", "action": "dismiss"},
                 {"label": "View Details", "action": "view_details",
                  "url": "/api/health/detailed"}],
        event="system.alert", alert=data.get("alert"), details=data.get("details"))


def maintenance_of(event: dict[str, Any]) -> dict[str, Any]:
    """The banner state a `system.maintenance` event announces: {enabled, message, since}."""
    data = event.get("data") or {}
    on = bool(data.get("enabled"))
    return {"enabled": on, "message": data.get("message") if on else None,
            "since": event.get("timestamp") if on else None}


def maintenance_now() -> str | None:
    """For a socket that has just authenticated: a `system.maintenance` notification when
    maintenance is on (the switch itself is told to every open socket as it happens), else
    None. Changes are refused until it ends, so every client should know from the start."""
    from app.services.system import maintenance_state

    state = maintenance_state()
    if not state.get("enabled"):
        return None
    return system_notice({"event": "system.maintenance",
                          "data": {"enabled": True, "message": state.get("message"),
                                   "since": state.get("since")}})


def user_notice(event: dict[str, Any]) -> str:
    data = event.get("data") or {}
    return protocol.notification(data.get("level") or "info", data.get("title") or "Notice",
                                 data.get("message") or "", actions=data.get("actions"),
                                 event="notification")
