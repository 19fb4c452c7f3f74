"""`/api/tasks/{id}/execute|cancel|retry|executions` and `/api/executions/{id}` (CONTRACT §3)."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel

from app.api.common import blueprint, endpoint
from app.api.schemas import CancelBody, ExecuteBody, OutputQuery, PageOf, PageQuery
from app.api.validation import Path
from app.errors import envelope
from app.request_hooks import maintenance_exempt
from app.security import current_user
from app.services import executions

bp = blueprint("api_task_runs", "/api", "Task runs",
               "Executing, cancelling and retrying tasks; their executions and output")


class TaskRunPath(Path):
    task_id: uuid.UUID


class ExecutionPath(Path):
    execution_id: uuid.UUID


class TaskExecuteBody(ExecuteBody):
    """The body of POST /api/tasks/{id}/execute."""


class QueuedData(BaseModel):
    task_id: str
    execution_id: str
    status: str
    run_number: int  # among the task's runs, in creation order, retries included
    queue_position: int | None
    estimated_start_time: str | None


class RetryData(QueuedData):
    retry_attempt: int


class TaskCancelData(BaseModel):
    task_id: str
    status: str
    cancelled_at: str | None
    reason: str | None


class ExecutionData(BaseModel):
    id: str
    task_id: str
    status: str
    queue: str
    run_number: int  # among the task's runs, in creation order, retries included
    attempt: int
    exit_code: int | None
    error: dict[str, Any] | None
    output: list[dict[str, Any]] | None = None


def _body(body: Any) -> dict[str, Any]:
    return body.model_dump(exclude_none=True) if body is not None else {}


@endpoint(bp, "post", "/tasks/<uuid:task_id>/execute", auth="execute", summary="Execute task",
          data=QueuedData, errors=[403, 404, 409, 503])
def execute_task(path: TaskRunPath, body: TaskExecuteBody):
    """Queue the task on a worker; answers at once with its place in the queue."""
    return envelope(executions.execute(path.task_id, current_user(), body.priority,
                                       body.options_dict()))


@maintenance_exempt
@endpoint(bp, "post", "/tasks/<uuid:task_id>/cancel", auth="execute", summary="Cancel task",
          data=TaskCancelData, errors=[403, 404, 409])
def cancel_task(path: TaskRunPath, body: CancelBody):
    """Queued: taken out of the queue. Running: SIGTERM to its process group, then SIGKILL."""
    reason = body.reason
    return envelope(executions.cancel(path.task_id, current_user(), reason))


@endpoint(bp, "post", "/tasks/<uuid:task_id>/retry", auth="execute", summary="Retry failed task",
          data=RetryData, errors=[403, 404, 409, 503])
def retry_task(path: TaskRunPath):
    """A new execution of a failed or cancelled task (retry_attempt = its attempt number)."""
    return envelope(executions.retry(path.task_id, current_user()))


@endpoint(bp, "get", "/tasks/<uuid:task_id>/executions", auth="read",
          summary="List task executions", data=PageOf[ExecutionData], errors=[403, 404])
def list_executions(path: TaskRunPath, query: PageQuery):
    """One execution per run or retry, newest first."""
    return envelope(executions.list_for_task(path.task_id, current_user(), query.page,
                                             query.page_size, query.order))


@endpoint(bp, "get", "/executions/<uuid:execution_id>", auth="read", summary="Get execution",
          data=ExecutionData, errors=[403, 404])
def get_execution(path: ExecutionPath, query: OutputQuery):
    """Status, timings, exit code, error, Claude result fields and output (`after_seq`)."""
    return envelope(executions.get(path.execution_id, current_user(), query.after_seq,
                                   query.limit))
