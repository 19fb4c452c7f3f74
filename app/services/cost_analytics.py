"""What Claude runs cost: per project and period (total, per day, per user, per task), per task.

Figures come from what each execution stored from the CLI's `result` line: `cost_usd`
(`total_cost_usd`) and `usage` (input, output, cache-creation and cache-read tokens). A run
counts on the UTC day it started (as for budgets, app.services.budgets), once it has reported a
cost; a run without a result line (crashed, cancelled before the end) reported nothing and is
not counted. "Per user" is who started the run (`triggered_by`; automatic retries keep the
original's). Everything is summed in SQL; token fields that are not numbers count as 0.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal_column, select

from app.extensions import db
from app.models.execution import TaskExecution
from app.models.task import Task
from app.models.user import User

TOKENS = ("input_tokens", "output_tokens", "cache_creation_input_tokens",
          "cache_read_input_tokens")
TOP_TASKS = 10


def _token(name: str) -> ColumnElement:
    """`usage.<name>` when it is a number, else 0, in SQL on SQLite and PostgreSQL."""
    usage = TaskExecution.usage
    if db.session.get_bind().dialect.name == "postgresql":
        return case((func.jsonb_typeof(usage[name]) == "number",
                     usage[name].as_float()), else_=0.0)
    kind = func.json_type(usage, f"$.{name}")
    return case((kind.in_(("integer", "real")), func.json_extract(usage, f"$.{name}")),
                else_=0.0)


def _sums() -> list[ColumnElement]:
    """Runs, USD and each token count, as labelled aggregates."""
    return [func.count().label("runs"),
            func.coalesce(func.sum(TaskExecution.cost_usd), 0.0).label("cost_usd"),
            *(func.coalesce(func.sum(_token(n)), 0).label(n) for n in TOKENS)]


def _figures(row: Any) -> dict[str, Any]:
    data = row._mapping
    return {"cost_usd": round(float(data["cost_usd"] or 0), 6), "runs": int(data["runs"]),
            **{n: int(data[n] or 0) for n in TOKENS}}


def _reported() -> ColumnElement:
    return TaskExecution.cost_usd.is_not(None)


def project_costs(project_id: uuid.UUID, start: datetime, end: datetime,
                  days: list[date]) -> dict[str, Any]:
    """The project's spend on runs started in [start, end]: total, one entry per day of `days`
    (zero-filled), per user and the `TOP_TASKS` dearest tasks."""
    from app.services.analytics import day_of

    scope = and_(TaskExecution.project_id == project_id, _reported(),
                 TaskExecution.started_at >= start, TaskExecution.started_at <= end)
    total = _figures(db.session.execute(select(*_sums()).where(scope)).one())
    day = day_of(TaskExecution.started_at)
    per_day = {str(d)[:10]: (float(c or 0), n) for d, c, n in db.session.execute(
        select(day, func.sum(TaskExecution.cost_usd), func.count()).where(scope)
        .group_by(day)).all()}
    keys = [d.isoformat() for d in days]
    person = TaskExecution.triggered_by
    users = db.session.execute(
        select(person.label("uid"), User.username, User.full_name, *_sums())
        .outerjoin(User, User.id == person).where(scope)
        .group_by(person, User.username, User.full_name)).all()
    by_user = [{"user_id": str(r.uid) if r.uid else None,
                "user_name": (r.full_name or r.username) if r.uid else "automatic",
                **_figures(r)} for r in users]
    dearest = db.session.execute(
        select(TaskExecution.task_id, Task.title, Task.deleted_at, *_sums())
        .join(Task, Task.id == TaskExecution.task_id).where(scope)
        .group_by(TaskExecution.task_id, Task.title, Task.deleted_at)
        .order_by(literal_column("cost_usd").desc(), TaskExecution.task_id)
        .limit(TOP_TASKS)).all()
    by_task = [{"task_id": str(r.task_id), "title": r.title, "deleted": r.deleted_at is not None,
                **_figures(r)} for r in dearest]
    return {
        "currency": "USD", "total": total,
        "per_day": {"days": keys,
                    "cost_usd": [round(per_day.get(k, (0.0, 0))[0], 6) for k in keys],
                    "runs": [per_day.get(k, (0.0, 0))[1] for k in keys]},
        "by_user": sorted(by_user, key=lambda u: (-u["cost_usd"], u["user_name"] or "")),
        "by_task": by_task,
    }


def task_costs(task_id: uuid.UUID) -> dict[str, Any]:
    """All the task's runs that reported a cost: their sum, tokens and the latest run's cost."""
    scope = and_(TaskExecution.task_id == task_id, _reported())
    total = _figures(db.session.execute(select(*_sums()).where(scope)).one())
    last = db.session.execute(
        select(TaskExecution.cost_usd, TaskExecution.started_at).where(scope)
        .order_by(TaskExecution.started_at.desc().nulls_last(), TaskExecution.id.desc())
        .limit(1)).first()
    return {"currency": "USD", **total,
            "last_run_cost_usd": round(float(last[0]), 6) if last else None}
