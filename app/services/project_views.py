"""Read-only figures the project pages show beside the API's: the tags in use (board filter) and
the distribution of task durations (analytics chart). Both are SQL aggregates over the same
scope rules as `app.services.analytics` (the project's live tasks; access via `get_project`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, select

from app.errors import ValidationFailed, utcnow
from app.extensions import db
from app.models.task import Task, TaskTag
from app.models.user import User
from app.services.access import get_project
from app.services.analytics import PERIODS

# Upper bounds (seconds, exclusive) of the duration buckets; the last bucket is open-ended.
DURATION_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("< 1 min", 60), ("1–5 min", 300), ("5–15 min", 900), ("15–60 min", 3600),
    ("1–4 h", 4 * 3600), ("4–24 h", 24 * 3600), ("≥ 1 day", None))
MAX_TAGS = 200


def project_tags(project_id: uuid.UUID, user: User) -> list[str]:
    """The distinct tags of the project's live tasks, alphabetically (at most MAX_TAGS)."""
    project = get_project(project_id, user)
    return list(db.session.scalars(
        select(TaskTag.tag).join(Task, Task.id == TaskTag.task_id)
        .where(Task.project_id == project.id, Task.deleted_at.is_(None))
        .distinct().order_by(TaskTag.tag).limit(MAX_TAGS)))


def duration_distribution(project_id: uuid.UUID, user: User, period: str = "30d",
                          now: datetime | None = None) -> dict[str, Any]:
    """How long completed tasks took (`actual_duration`), counted per bucket.

    Scope as analytics' `median_task_duration`: completed live tasks created in the period (the
    last N UTC calendar days, today included) that have a measured duration.
    """
    if period not in PERIODS:
        raise ValidationFailed("period", f"one of {', '.join(PERIODS)}")
    project = get_project(project_id, user)
    now = now or utcnow()
    start = datetime.combine(now.date() - timedelta(days=PERIODS[period] - 1), time.min,
                             tzinfo=UTC)
    scope = and_(Task.project_id == project.id, Task.deleted_at.is_(None),
                 Task.status == "completed", Task.actual_duration.is_not(None),
                 Task.created_at >= start, Task.created_at <= now)
    counts = []
    low = 0
    for _label, high in DURATION_BUCKETS:
        bucket = Task.actual_duration >= low
        if high is not None:
            bucket = and_(bucket, Task.actual_duration < high)
        counts.append(func.count().filter(bucket))
        low = high or low
    row = db.session.execute(select(*counts).where(scope)).one()
    return {"labels": [label for label, _ in DURATION_BUCKETS], "counts": list(row),
            "total": sum(row)}
