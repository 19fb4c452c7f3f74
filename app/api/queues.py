"""`/api/queues`: status and metrics for everyone; pause, resume, clear, priority for admins."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.api.common import blueprint, endpoint
from app.api.validation import Body, Query, Response
from app.errors import envelope
from app.request_hooks import maintenance_exempt
from app.security import current_user
from app.services import queue_control, queue_stats

bp = blueprint("api_queues", "/api/queues", "Queues",
               "The high, normal and low RQ queues: state, figures and control")

QueueName = Literal["high", "normal", "low", "high_priority", "normal_priority", "low_priority"]


class PauseBody(Body):
    queue_name: str = Field(..., max_length=32, examples=["high_priority"])
    reason: str | None = Field(None, max_length=1000)


class ResumeBody(Body):
    queue_name: str = Field(..., max_length=32)


class ClearBody(Body):
    queue_name: str = Field(..., max_length=32)
    confirm: bool = False


class PriorityBody(Body):
    task_ids: list[uuid.UUID] = Field(..., min_length=1, max_length=500)
    priority: QueueName


class MetricsQuery(Query):
    period: Literal["1h", "24h", "7d"] = "24h"


class Workers(BaseModel):
    active: int
    idle: int
    total: int


class QueueStatusData(Response):
    queues: dict[str, dict[str, Any]] = Field(
        description="high_priority / normal_priority / low_priority: size, processing, "
                    "completed_today, paused, ...")
    workers: Workers
    performance: dict[str, Any]
    timestamp: str


class QueueMetricsData(Response):
    period: str
    overall: dict[str, Any]
    queues: dict[str, dict[str, Any]]
    current: dict[str, Any]
    workers: Workers
    timeline: list[dict[str, Any]]


class QueueStateData(Response):
    queue_name: str
    queue: str
    paused: bool
    size: int


class ClearData(Response):
    queue_name: str
    queue: str
    cleared: int
    tasks_cancelled: int
    commands_cancelled: int
    cleared_at: str


class PriorityData(Response):
    priority: str
    queue_name: str
    updated: list[Any]
    skipped: list[Any]
    affected_count: int


@endpoint(bp, "get", "/status", auth="read", summary="Queue status", data=QueueStatusData)
def status():
    """Sizes, jobs in progress, completed today, workers and recent performance."""
    return envelope(queue_stats.status())


@endpoint(bp, "get", "/metrics", auth="read", summary="Queue metrics", data=QueueMetricsData)
def metrics(query: MetricsQuery):
    """Per-queue throughput, durations, waits and success rates over 1h, 24h or 7d."""
    return envelope(queue_stats.metrics(query.period))


@maintenance_exempt
@endpoint(bp, "post", "/pause", auth="admin", summary="Pause queue", data=QueueStateData,
          errors=[404])
def pause(body: PauseBody):
    """Workers stop taking jobs from this queue; its jobs stay, in order."""
    return envelope(queue_control.pause(body.queue_name, body.reason, current_user()))


@maintenance_exempt
@endpoint(bp, "post", "/resume", auth="admin", summary="Resume queue", data=QueueStateData,
          errors=[404])
def resume(body: ResumeBody):
    """Workers take jobs from this queue again, in the order they were queued."""
    return envelope(queue_control.resume(body.queue_name, current_user()))


@maintenance_exempt
@endpoint(bp, "delete", "/clear", auth="admin", summary="Clear queue", data=ClearData,
          errors=[404])
def clear(body: ClearBody):
    """Remove every job of the queue (needs confirm: true); their tasks become cancelled."""
    return envelope(queue_control.clear(body.queue_name, body.confirm, current_user()))


@maintenance_exempt
@endpoint(bp, "post", "/priority", auth="admin", summary="Set task priority",
          data=PriorityData)
def priority(body: PriorityBody):
    """Move queued tasks to another queue, keeping their jobs."""
    return envelope(queue_control.set_priority(body.task_ids, body.priority, current_user()))
