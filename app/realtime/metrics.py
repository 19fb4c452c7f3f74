"""Figures for `performance_data` and `get_metrics`, all measured, none invented.

cpu/memory from psutil (the host), active connections from every web process's counter in
Redis, tasks per minute from executions that finished in the last five minutes, queue sizes
from RQ.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psutil
from rq import Queue
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import func, select

from app.errors import utcnow
from app.extensions import db, get_redis
from app.jobs import QUEUES
from app.models.execution import TaskExecution
from app.services import health
from app.services import metrics as shared_metrics

RATE_WINDOW_MINUTES = 5
psutil.cpu_percent(interval=None)  # the first reading is meaningless; prime it at import


def tasks_per_minute() -> float:
    since = utcnow() - timedelta(minutes=RATE_WINDOW_MINUTES)
    finished = db.session.scalar(select(func.count()).select_from(TaskExecution).where(
        TaskExecution.finished_at >= since,
        TaskExecution.status.in_(("completed", "failed")))) or 0
    return round(finished / RATE_WINDOW_MINUTES, 1)


def queue_sizes() -> dict[str, int]:
    conn = get_redis()
    return {name: Queue(name, connection=conn).count for name in QUEUES}


def performance() -> dict[str, Any]:
    """The reference's `performance_data` fields."""
    return {
        "cpu_usage": round(psutil.cpu_percent(interval=None), 1),
        "memory_usage": round(psutil.virtual_memory().percent, 1),
        "active_connections": shared_metrics.websocket_connections(),
        "tasks_per_minute": tasks_per_minute(),
        "queue_sizes": queue_sizes(),
    }


def queue_status() -> dict[str, Any]:
    conn = get_redis()
    out: dict[str, Any] = {}
    for name in QUEUES:
        queue = Queue(name, connection=conn)
        out[name] = {
            "pending": queue.count,
            "running": StartedJobRegistry(queue=queue).count,
            "failed": FailedJobRegistry(queue=queue).count,
            "scheduled": ScheduledJobRegistry(queue=queue).count,
        }
    return out


def system_health() -> dict[str, Any]:
    report, _status = health.detailed()
    return {"status": report["status"], "checks": report["checks"]}


def collect(which: list[str] | None) -> dict[str, Any]:
    """`get_metrics`: the requested sections (all three when none are named)."""
    wanted = which or ["performance", "queue_status", "system_health"]
    data: dict[str, Any] = {}
    if "performance" in wanted:
        data.update(performance())
    if "queue_status" in wanted:
        data["queue_status"] = queue_status()
    if "system_health" in wanted:
        data["system_health"] = system_health()
    data["metrics"] = list(dict.fromkeys(wanted))
    return data
