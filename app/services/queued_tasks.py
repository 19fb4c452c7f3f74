"""Read-only views for the pages' bulk tools: the tasks waiting in each queue, and task titles.

A task waits in a queue while an execution of it is `queued` (in the RQ list, or held back for a
free project slot: `queue_control.set_priority` moves both kinds). The queues page shows them
oldest first, as workers take them, at most `limit` per queue plus each queue's total, so an
admin can pick some and move them. Titles let a bulk result name the tasks it reports on
instead of showing bare ids. Nothing here changes anything.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.jobs import QUEUES
from app.models.execution import TaskExecution
from app.models.project import Project
from app.models.task import Task


def waiting(limit: int = 50) -> dict[str, dict[str, Any]]:
    """{queue: {"total": n, "tasks": [{task_id, execution_id, title, project_id, project_name,
    queued_at}], "more": n - shown}} for every queue, in priority order."""
    queued = TaskExecution.status == "queued"
    totals = {q: n for q, n in db.session.execute(
        select(TaskExecution.queue, func.count()).where(queued).group_by(TaskExecution.queue))}
    out: dict[str, dict[str, Any]] = {}
    for queue in QUEUES:
        rows = db.session.execute(
            select(TaskExecution.id, TaskExecution.task_id, TaskExecution.created_at,
                   Task.title, Project.id.label("project_id"), Project.name)
            .join(Task, Task.id == TaskExecution.task_id)
            .join(Project, Project.id == TaskExecution.project_id)
            .where(queued, TaskExecution.queue == queue)
            .order_by(TaskExecution.created_at, TaskExecution.id).limit(limit)).all()
        tasks = [{"task_id": str(r.task_id), "execution_id": str(r.id), "title": r.title,
                  "project_id": str(r.project_id), "project_name": r.name,
                  "queued_at": r.created_at} for r in rows]
        total = max(totals.get(queue, 0), len(tasks))
        out[queue] = {"total": total, "tasks": tasks, "more": total - len(tasks)}
    return out


def task_titles(ids: Iterable[Any], project_id: uuid.UUID | None = None) -> dict[str, str]:
    """{str(id): title} for the given ids that are tasks (of `project_id` when given; deleted
    ones included: a result may name a task it just deleted). Ids that are not UUIDs are
    skipped."""
    wanted: set[uuid.UUID] = set()
    for raw in ids:
        try:
            wanted.add(uuid.UUID(str(raw)))
        except ValueError:
            continue
    if not wanted:
        return {}
    query = select(Task.id, Task.title).where(Task.id.in_(wanted))
    if project_id is not None:
        query = query.where(Task.project_id == project_id)
    return {str(i): title for i, title in db.session.execute(query)}
