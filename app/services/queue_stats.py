"""`GET /api/queues/status` and `/metrics`: figures from RQ and from recorded runs, never invented.

Sizes and jobs in progress come from RQ (queue lists, started registries); workers from RQ's
worker registry; completed counts, throughput, durations and success rates from the
`task_executions` and `command_runs` tables (a run's queue is recorded on its row).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal_column, select, union_all

from app.errors import AppError, iso, utcnow
from app.extensions import db
from app.jobs import QUEUES
from app.models.command import CommandRun
from app.models.execution import TaskExecution
from app.services import concurrency, queues
from app.services.durations import format_duration

PERIODS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
BUCKETS = {"1h": timedelta(minutes=5), "24h": timedelta(hours=1), "7d": timedelta(days=1)}


def _runs(since: datetime):
    """(kind, queue, status, created_at, started_at, finished_at) of runs finished since."""
    cols = ("queue", "status", "created_at", "started_at", "finished_at")

    def part(model, kind):
        return select(literal_column(f"'{kind}'").label("kind"),
                      *[getattr(model, c).label(c) for c in cols]).where(
            model.finished_at >= since)

    return union_all(part(TaskExecution, "execution"), part(CommandRun, "command")).subquery()


def _rows(since: datetime) -> list[Any]:
    runs = _runs(since)
    return list(db.session.execute(select(runs)).all())


def _summary(rows: list[Any], span: timedelta) -> dict[str, Any]:
    done = [r for r in rows if r.status in ("completed", "failed")]
    ok = sum(1 for r in done if r.status == "completed")
    durations = [(r.finished_at - r.started_at).total_seconds() for r in done
                 if r.started_at and r.finished_at]
    waits = [(r.started_at - r.created_at).total_seconds() for r in rows
             if r.started_at and r.created_at]
    avg = sum(durations) / len(durations) if durations else 0.0
    minutes = max(span.total_seconds() / 60.0, 1.0)
    return {
        "completed": ok, "failed": len(done) - ok,
        "cancelled": sum(1 for r in rows if r.status == "cancelled"),
        "tasks_per_minute": round(len(done) / minutes, 3),
        "average_processing_time": format_duration(avg),
        "average_processing_seconds": round(avg, 3),
        "average_wait_seconds": round(sum(waits) / len(waits), 3) if waits else 0.0,
        "success_rate": round(ok / len(done), 4) if done else None,
    }


def status() -> dict[str, Any]:
    now = utcnow()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    day = _rows(min(midnight, now - timedelta(hours=24)))
    today = [r for r in day if r.finished_at >= midnight]
    sizes, busy, paused = queues.sizes(), queues.processing(), queues.paused()
    waiting = _waiting_by_queue()
    out: dict[str, Any] = {}
    for name in QUEUES:
        out[queues.display_name(name)] = {
            "name": name, "size": sizes[name], "processing": busy[name],
            "completed_today": sum(1 for r in today if r.queue == name
                                   and r.status == "completed"),
            "failed_today": sum(1 for r in today if r.queue == name and r.status == "failed"),
            "waiting_for_slot": waiting.get(name, 0),
            "paused": name in paused, "paused_info": paused.get(name),
        }
    hour = [r for r in day if r.finished_at >= now - timedelta(hours=1)]
    perf = _summary(day, timedelta(hours=24))
    perf["tasks_per_minute"] = _summary(hour, timedelta(hours=1))["tasks_per_minute"]
    return {"queues": out, "workers": queues.workers_summary(), "performance": {
        "tasks_per_minute": perf["tasks_per_minute"],
        "average_processing_time": perf["average_processing_time"],
        "success_rate": perf["success_rate"], "window": "tasks_per_minute over the last hour; "
        "the rest over the last 24 hours"}, "timestamp": iso(now)}


def _waiting_by_queue() -> dict[str, int]:
    ids = [i for p in concurrency.projects_with_waiters() for i in concurrency.waiting(p)]
    if not ids:
        return {}
    import uuid

    rows = db.session.execute(select(TaskExecution.queue, func.count()).where(
        TaskExecution.id.in_([uuid.UUID(i) for i in ids])).group_by(TaskExecution.queue))
    return {q: n for q, n in rows}


def metrics(period: str = "24h") -> dict[str, Any]:
    if period not in PERIODS:
        raise AppError("VALIDATION_ERROR", f"period must be one of {', '.join(PERIODS)}",
                       {"field": "period", "issue": "must be 1h, 24h or 7d"})
    now = utcnow()
    span = PERIODS[period]
    rows = _rows(now - span)
    per_queue = {queues.display_name(q): {"name": q, **_summary([r for r in rows if r.queue == q],
                                                                  span)} for q in QUEUES}
    step = BUCKETS[period]
    start = now - span
    count = int(span / step)
    timeline = [{"start": iso(start + i * step), "completed": 0, "failed": 0, "cancelled": 0}
                for i in range(count)]
    for r in rows:
        index = min(int((r.finished_at - start) / step), count - 1)
        if index >= 0 and r.status in timeline[index]:
            timeline[index][r.status] += 1
    return {"period": period, "from": iso(start), "to": iso(now),
            "overall": {**_summary(rows, span),
                        "executions": sum(1 for r in rows if r.kind == "execution"),
                        "commands": sum(1 for r in rows if r.kind == "command")},
            "queues": per_queue, "current": {"sizes": queues.sizes(),
                                             "processing": queues.processing(),
                                             "paused": sorted(queues.paused())},
            "workers": queues.workers_summary(), "timeline": timeline}
