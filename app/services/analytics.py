"""Project analytics for a period (`7d`, `30d`, `90d`, `1y`), computed with SQL aggregates.

The period is the last N calendar days in UTC, today included. Definitions (README):
- Scope: the project's live (not deleted) tasks created in the period.
- `total_tasks` / `completed_tasks`: tasks in scope / those of them now completed;
  `completion_rate` = completed / total.
- `created_per_day`: tasks created each day; `completed_per_day`: the project's live tasks
  whose `completed_at` falls on each day (whenever they were created). One entry per day of the
  period, oldest first, zero-filled; `days` gives the dates.
- `average_completion_time`: mean time from creation to completion of completed tasks in scope.
- `average_task_duration` / `median_task_duration`: mean / median `actual_duration` (time from
  start to finish) of completed tasks in scope that have one.
- `on_time_completion_rate`: among completed tasks in scope with an `estimated_duration` and an
  `actual_duration`, the share with actual <= estimated.
- `productivity_score` = 0.6 x completion_rate + 0.4 x on_time_completion_rate, rounded to 3
  decimals (0 to 1). When no completed task has both an estimate and a measured duration, the
  on-time part is replaced by the completion rate (the score is then the completion rate).
  0 when no task was created in the period.
- `team_performance`: per person responsible (the assignee, else the creator): tasks in scope,
  completed, completion rate and mean duration.
- `costs`: what the project's Claude runs started in the period reported (app.services.
  cost_analytics: total, per day, per user who started them, dearest tasks, tokens) and this
  month's budget (app.services.budgets).
Rates and durations with nothing to measure are null.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, and_, cast, extract, func, select

from app.errors import ValidationFailed, iso, utcnow
from app.extensions import db
from app.models.task import Task
from app.models.user import User
from app.services import budgets, cost_analytics
from app.services.access import get_project
from app.services.durations import format_duration

PERIODS = {"7d": 7, "30d": 30, "90d": 90, "1y": 365}


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def day_of(column: Any) -> ColumnElement:
    """The UTC calendar day of a timestamp column, in SQL."""
    if _dialect() == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)


def seconds_between(start: Any, end: Any) -> ColumnElement:
    """`end - start` in seconds, in SQL."""
    if _dialect() == "postgresql":
        return extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def productivity_score(completion_rate: float | None, on_time_rate: float | None) -> float:
    if completion_rate is None:
        return 0.0
    on_time = completion_rate if on_time_rate is None else on_time_rate
    return round(0.6 * completion_rate + 0.4 * on_time, 3)


def project_analytics(project_id: uuid.UUID, user: Any, period: str = "30d",
                      now: datetime | None = None) -> dict[str, Any]:
    if period not in PERIODS:
        raise ValidationFailed("period", f"one of {', '.join(PERIODS)}")
    project = get_project(project_id, user)
    now = now or utcnow()
    days = [now.date() - timedelta(days=n) for n in range(PERIODS[period] - 1, -1, -1)]
    start = datetime.combine(days[0], time.min, tzinfo=UTC)
    live = and_(Task.project_id == project.id, Task.deleted_at.is_(None))
    scope = and_(live, Task.created_at >= start, Task.created_at <= now)
    done = and_(scope, Task.status == "completed")
    measured = and_(done, Task.actual_duration.is_not(None))

    total, completed, lead = db.session.execute(select(
        func.count(), func.count().filter(Task.status == "completed"),
        func.avg(seconds_between(Task.created_at, Task.completed_at)).filter(
            Task.status == "completed", Task.completed_at.is_not(None)),
    ).where(scope)).one()
    measured_n, average = db.session.execute(
        select(func.count(), func.avg(Task.actual_duration)).where(measured)).one()
    on_time_n, on_time_ok = db.session.execute(select(
        func.count(), func.count().filter(Task.actual_duration <= Task.estimated_duration),
    ).where(measured, Task.estimated_duration.is_not(None))).one()

    completion_rate = _rate(completed, total)
    on_time_rate = _rate(on_time_ok, on_time_n)
    average_duration = format_duration(average) if average is not None else None
    return {
        "project_id": str(project.id), "period": period,
        "period_start": iso(start), "period_end": iso(now),
        "summary": {
            "total_tasks": total, "completed_tasks": completed,
            "average_completion_time": format_duration(lead) if lead is not None else None,
            "productivity_score": productivity_score(completion_rate, on_time_rate),
        },
        "task_trends": {
            "days": [d.isoformat() for d in days],
            "created_per_day": _per_day(days, Task.created_at, scope),
            "completed_per_day": _per_day(days, Task.completed_at, and_(
                live, Task.status == "completed", Task.completed_at >= start,
                Task.completed_at <= now)),
        },
        "performance_metrics": {
            "average_task_duration": average_duration,
            "median_task_duration": _median_duration(measured, measured_n),
            "completion_rate": completion_rate,
            "on_time_completion_rate": on_time_rate,
        },
        "team_performance": _team(scope),
        "costs": {**cost_analytics.project_costs(project.id, start, now, days),
                  "budget": budgets.status(project, now)},
    }


def _per_day(days: list[date], column: Any, where: ColumnElement) -> list[int]:
    day = day_of(column)
    rows = db.session.execute(select(day, func.count()).where(where).group_by(day)).all()
    counts = {str(d)[:10]: n for d, n in rows}
    return [counts.get(d.isoformat(), 0) for d in days]


def _median_duration(where: ColumnElement, n: int) -> str | None:
    """The median in SQL on every database: the middle one or two values by ORDER/OFFSET."""
    if not n:
        return None
    middle = list(db.session.scalars(select(Task.actual_duration).where(where)
                                     .order_by(Task.actual_duration)
                                     .offset((n - 1) // 2).limit(2 - n % 2)))
    return format_duration(sum(middle) / len(middle))


def _team(scope: ColumnElement) -> list[dict[str, Any]]:
    person = func.coalesce(Task.assigned_to, Task.created_by).label("person")
    is_done = Task.status == "completed"
    rows = db.session.execute(
        select(person, User.username, User.full_name, func.count(),
               func.count().filter(is_done),
               func.avg(Task.actual_duration).filter(is_done, Task.actual_duration.is_not(None)))
        .join(User, User.id == person)
        .where(scope)
        .group_by(person, User.username, User.full_name)).all()
    team = [{
        "user_id": str(uid), "user_name": full_name or username, "tasks_total": total,
        "tasks_completed": done_n,
        "average_duration": format_duration(avg) if avg is not None else None,
        "completion_rate": _rate(done_n, total),
    } for uid, username, full_name, total, done_n, avg in rows]
    return sorted(team, key=lambda t: (-t["tasks_completed"], t["user_name"]))
