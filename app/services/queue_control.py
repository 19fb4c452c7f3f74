"""Admin control of the queues (CONTRACT §5): pause, resume, clear, move tasks between queues.

Pausing is a flag the workers read on every dequeue: the queue's jobs stay where they are, in
order, and run after `resume`. `clear` (with confirm) empties the queue and cancels what it held,
including runs waiting for a project slot or an automatic retry that belong to it. `priority`
moves queued tasks' jobs to another queue, keeping the jobs. Every action is audited.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from app.errors import AppError, iso, utcnow
from app.extensions import db
from app.models.command import CommandRun
from app.models.execution import TaskExecution
from app.models.task import Task
from app.models.user import User
from app.services import audit, events, queues
from app.services import commands as command_service
from app.services import execution_lifecycle as lifecycle


def _entity(queue: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"queue:{queue}")


def _audit(queue: str, action: str, user: User, details: dict[str, Any]) -> None:
    audit.record("queue", _entity(queue), action, user_id=user.id, details={"queue": queue,
                                                                             **details})


def pause(name: str, reason: str | None, user: User) -> dict[str, Any]:
    queue = queues.normalize(name)
    state = queues.set_paused(queue, reason, user.username)
    _audit(queue, "paused", user, {"reason": reason})
    events.emit("system.alert", {"level": "info", "title": "Queue paused",
                                 "message": f"Queue {queue} paused" +
                                            (f": {reason}" if reason else ""), "queue": queue})
    db.session.commit()
    return {"queue_name": queues.display_name(queue), "queue": queue, "paused": True,
            "paused_at": state["since"], "paused_by": user.username, "reason": reason,
            "size": queues.sizes()[queue]}


def resume(name: str, user: User) -> dict[str, Any]:
    queue = queues.normalize(name)
    was = queues.clear_paused(queue)
    _audit(queue, "resumed", user, {"was_paused": was})
    events.emit("system.alert", {"level": "info", "title": "Queue resumed",
                                 "message": f"Queue {queue} resumed", "queue": queue})
    db.session.commit()
    return {"queue_name": queues.display_name(queue), "queue": queue, "paused": False,
            "was_paused": was, "resumed_at": iso(utcnow()), "size": queues.sizes()[queue]}


def clear(name: str, confirm: bool, user: User) -> dict[str, Any]:
    queue = queues.normalize(name)
    if not confirm:
        raise AppError("VALIDATION_ERROR", "Clearing a queue needs \"confirm\": true",
                       {"field": "confirm", "issue": "must be true"})
    removed_jobs = queues.rq_queue(queue).count
    queues.rq_queue(queue).empty()
    reason = f"Queue {queue} cleared by {user.username}"
    tasks: list[str] = []
    for ex in db.session.scalars(select(TaskExecution).where(
            TaskExecution.status == "queued", TaskExecution.queue == queue)).all():
        if lifecycle.cancel_queued(ex, reason, user.id):
            tasks.append(str(ex.task_id))
    commands = 0
    for cmd in db.session.scalars(select(CommandRun).where(
            CommandRun.status == "queued", CommandRun.queue == queue)).all():
        if command_service.cancel_queued(cmd, reason, user.id):
            commands += 1
    _audit(queue, "cleared", user, {"jobs": removed_jobs, "tasks_cancelled": tasks,
                                    "commands_cancelled": commands})
    db.session.commit()
    return {"queue_name": queues.display_name(queue), "queue": queue, "cleared": removed_jobs,
            "tasks_cancelled": tasks, "commands_cancelled": commands,
            "cleared_at": iso(utcnow())}


def set_priority(task_ids: list[uuid.UUID], priority: str, user: User) -> dict[str, Any]:
    target = queues.normalize(priority)
    moved, skipped = [], []
    for task_id in dict.fromkeys(task_ids):
        task = db.session.get(Task, task_id)
        if task is None or task.deleted_at is not None:
            skipped.append({"task_id": str(task_id), "error": "TASK_NOT_FOUND"})
            continue
        ex = db.session.scalar(select(TaskExecution).where(
            TaskExecution.task_id == task_id, TaskExecution.status == "queued")
            .order_by(TaskExecution.created_at.desc()).limit(1))
        if ex is None:
            skipped.append({"task_id": str(task_id), "error": "TASK_NOT_QUEUED",
                            "status": task.status})
            continue
        old = ex.queue
        if old != target:
            queues.move_run("execution", ex.id, old, target)  # False: waiting for a slot
            ex.queue = target
            audit.record("execution", ex.id, "priority_changed", user_id=user.id, field="queue",
                         old=old, new=target, project_id=ex.project_id)
            events.emit("execution.updated", lifecycle.brief(ex), project_id=ex.project_id,
                        task_id=ex.task_id, execution_id=ex.id, user_id=user.id)
        moved.append({"task_id": str(task_id), "execution_id": str(ex.id), "from": old,
                      "to": target})
    db.session.commit()
    return {"priority": target, "queue_name": queues.display_name(target),
            "updated": moved, "skipped": skipped, "affected_count": len(moved)}
