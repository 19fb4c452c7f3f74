"""A project's monthly budget for Claude runs: what is spent, alerts at 80 % and 100 %, refusal.

The budget is `resource_limits.monthly_budget_usd` (null: none; `PROJECT_MONTHLY_BUDGET_USD` is
the default for projects that do not set one). The month is the calendar month in UTC, and a
run's cost counts in the month (and on the day) the run *started*, so a still-running run's
cost never moves between months. What is spent is the sum of the `cost_usd` the project's
executions reported (the CLI's `total_cost_usd`); a run that is still going counts only once it
has reported a cost. Shell runs cost nothing and are never refused.

- `spend_recorded` runs after a cost is written (the end of a Claude run): reaching
  `BUDGET_WARN_PERCENT` (80) and 100 % of the budget raises `system.alert` once per threshold per
  month (a row in `project_budget_alerts`, unique per project, month and threshold, so two
  workers finishing at once cannot both raise it), and 100 % also the webhook event
  `budget.exceeded`. Both are scoped to the project: only those who may see it hear them.
- `check_start` runs before a Claude run is queued (execute, retry, follow-up — all through
  `executions`): once the month's spend has reached the budget, 409 `PROJECT_BUDGET_EXCEEDED`,
  unless an admin sends `options.override_budget: true`, which the task's history records.

Every function takes `now` (default: the clock) so a test can move to another month.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.errors import AppError, iso, utcnow
from app.extensions import db
from app.models.budget import ProjectBudgetAlert
from app.models.execution import TaskExecution
from app.models.project import Project
from app.services import audit, events
from app.services.engine_config import setting

log = logging.getLogger(__name__)
DEFAULTS: dict[str, Any] = {"BUDGET_WARN_PERCENT": 80, "PROJECT_MONTHLY_BUDGET_USD": None}
EPSILON = 1e-9  # sums of float costs: 0.8 x budget reached even with rounding noise


def month_bounds(now: datetime | None = None) -> tuple[datetime, datetime, str]:
    """(first instant, first instant of the next month, "YYYY-MM") of `now`'s UTC month."""
    now = (now or utcnow()).astimezone(UTC)
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    end = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=UTC)
    return start, end, f"{now.year:04d}-{now.month:02d}"


def default_budget() -> float | None:
    """`PROJECT_MONTHLY_BUDGET_USD` (app config or environment), None when unset or not > 0."""
    raw = setting("PROJECT_MONTHLY_BUDGET_USD", DEFAULTS)
    try:
        value = float(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        log.warning("PROJECT_MONTHLY_BUDGET_USD=%r is not a number; no default budget", raw)
        return None
    return value if value and value > 0 else None


def monthly_budget(project: Project) -> float | None:
    from app.services.projects import limits_of

    value = limits_of(project).get("monthly_budget_usd")
    return float(value) if value else None


def thresholds() -> tuple[int, ...]:
    warn = int(setting("BUDGET_WARN_PERCENT", DEFAULTS))
    return (warn, 100) if 0 < warn < 100 else (100,)


def month_spend(project_id: uuid.UUID, now: datetime | None = None) -> float:
    """USD the project's runs that started in `now`'s month have reported."""
    start, end, _ = month_bounds(now)
    total = db.session.scalar(select(func.coalesce(func.sum(TaskExecution.cost_usd), 0.0)).where(
        TaskExecution.project_id == project_id, TaskExecution.cost_usd.is_not(None),
        TaskExecution.started_at >= start, TaskExecution.started_at < end))
    return round(float(total or 0.0), 6)


def status(project: Project, now: datetime | None = None) -> dict[str, Any]:
    """The month's budget, spend, share and the alerts raised so far."""
    start, end, month = month_bounds(now)
    budget = monthly_budget(project)
    spent = month_spend(project.id, now)
    alerts = db.session.scalars(select(ProjectBudgetAlert).where(
        ProjectBudgetAlert.project_id == project.id, ProjectBudgetAlert.month == month)
        .order_by(ProjectBudgetAlert.threshold))
    percent = round(spent / budget * 100, 1) if budget else None
    state = "none" if not budget else "exceeded" if spent + EPSILON >= budget else \
        "warning" if spent + EPSILON >= budget * thresholds()[0] / 100 else "ok"
    return {"month": month, "month_start": iso(start), "resets_at": iso(end),
            "monthly_budget_usd": budget, "spent_usd": spent,
            "remaining_usd": round(max(budget - spent, 0.0), 6) if budget else None,
            "percent": percent, "state": state, "warn_percent": thresholds()[0],
            "alerts": [{"threshold": a.threshold, "raised_at": iso(a.created_at),
                        "spent_usd": a.spent_usd} for a in alerts]}


# ---------------------------------------------------------------- refusing runs

def check_start(task: Any, user: Any, options: dict[str, Any],
                now: datetime | None = None) -> None:
    """Refuse a Claude run of a project whose month's budget is spent (409), unless an admin
    overrides it with `options.override_budget` (recorded in the task's history)."""
    if task.executor != "claude":
        return
    project = db.session.get(Project, task.project_id)
    budget = monthly_budget(project) if project is not None else None
    if not budget:
        return
    spent = month_spend(project.id, now)
    if spent + EPSILON < budget:
        return
    _, end, month = month_bounds(now)
    facts = {"project_id": str(project.id), "month": month, "monthly_budget_usd": budget,
             "spent_usd": spent, "resets_at": iso(end)}
    if options.get("override_budget") and user.is_admin:
        audit.record("task", task.id, "budget_override", user_id=user.id,
                     project_id=project.id, details=facts)
        return
    raise AppError("PROJECT_BUDGET_EXCEEDED",
                   f"Project '{project.name}' has spent ${spent:.2f} of its ${budget:.2f} "
                   f"monthly budget for {month} (UTC); Claude runs start again on "
                   f"{end.date().isoformat()} or when the budget is raised. An admin may start "
                   "one anyway with options.override_budget.", facts)


# ---------------------------------------------------------------- alerts

def spend_recorded(project_id: uuid.UUID, now: datetime | None = None) -> list[int]:
    """After a run of the project reported a cost: raise the alerts of the thresholds its
    month has reached and not yet announced. Returns the thresholds announced now. Never
    raises (a failed check must not fail the run that triggered it)."""
    try:
        return _raise_alerts(project_id, now or utcnow())
    except Exception:
        db.session.rollback()
        log.exception("budget check of project %s failed", project_id)
        return []


def _raise_alerts(project_id: uuid.UUID, now: datetime) -> list[int]:
    project = db.session.get(Project, project_id)
    budget = monthly_budget(project) if project is not None else None
    if not budget:
        return []
    spent = month_spend(project.id, now)
    reached = [t for t in thresholds() if spent + EPSILON >= budget * t / 100]
    if not reached:
        return []
    _, end, month = month_bounds(now)
    done = set(db.session.scalars(select(ProjectBudgetAlert.threshold).where(
        ProjectBudgetAlert.project_id == project.id, ProjectBudgetAlert.month == month)))
    raised = []
    for threshold in (t for t in reached if t not in done):
        try:
            with db.session.begin_nested():
                db.session.add(ProjectBudgetAlert(project_id=project.id, month=month,
                                                  threshold=threshold, spent_usd=spent,
                                                  budget_usd=budget))
        except IntegrityError:  # another worker announced it first
            continue
        _announce(project, threshold, month, spent, budget, end)
        raised.append(threshold)
    db.session.commit()
    return raised


def _announce(project: Project, threshold: int, month: str, spent: float, budget: float,
              end: datetime) -> None:
    percent = round(spent / budget * 100, 1)
    facts = {"project_id": str(project.id), "project_name": project.name, "month": month,
             "threshold": threshold, "monthly_budget_usd": budget, "spent_usd": spent,
             "percent": percent, "resets_at": iso(end)}
    if threshold >= 100:
        title = f"Budget spent: {project.name}"
        message = (f"Project '{project.name}' has spent ${spent:.2f} of its ${budget:.2f} "
                   f"monthly budget for {month} ({percent} %); new Claude runs are refused "
                   f"until {end.date().isoformat()} unless an admin overrides.")
    else:
        title = f"Budget {threshold} % reached: {project.name}"
        message = (f"Project '{project.name}' has spent ${spent:.2f} of its ${budget:.2f} "
                   f"monthly budget for {month} ({percent} %).")
    events.emit("system.alert", {"level": "error" if threshold >= 100 else "warning",
                                 "title": title, "message": message, "alert": "budget",
                                 "details": facts, **facts}, project_id=project.id)
    if threshold >= 100:
        events.emit("budget.exceeded", facts, project_id=project.id)
    audit.record("project", project.id, "budget_alert", user_id=None, project_id=project.id,
                 details=facts)
