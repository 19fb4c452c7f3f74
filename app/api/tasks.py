"""`/api/tasks`: create, list (filters and search), read, update, delete, bulk, history and
dependencies. Execution routes (execute/cancel/retry/executions) live in `task_runs`.

Routes only parse and delegate: every rule is in `app.services` (tasks, task_query, bulk,
dependencies), which the pages call too.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from flask import request
from pydantic import BaseModel, Field

from app.api.common import blueprint, endpoint
from app.api.schemas import (
    DURATION_RULES,
    NAME_RULES,
    PATH_RULES,
    TAGS_RULES,
    TEXT_RULES,
    Message,
    PageOf,
    PageQuery,
    TaskMetadata,
    listing,
)
from app.api.validation import Body, IsoDateTime, Path, Response
from app.errors import envelope
from app.models.task import TASK_STATUSES
from app.security import current_user
from app.services import bulk, dependencies, task_query, tasks
from app.services.validation import PRIORITY_MAX, PRIORITY_MIN, parse_id

bp = blueprint("api_tasks", "/api/tasks", "Tasks", "Tasks, their history and dependencies")

TAG_LIST = r"^\s*(?:[A-Za-z0-9_.-]{1,50}\s*(?:,\s*[A-Za-z0-9_.-]{1,50}\s*)*)?$"
SortField = Literal["created_at", "updated_at", "priority", "title", "status", "completed_at"]


# ---------------------------------------------------------------- request models

class TaskFields(Body):
    title: str | None = Field(None, description="1-200 characters", json_schema_extra=NAME_RULES)
    description: str | None = Field(None, description="At most 10,000 characters",
                                    json_schema_extra=TEXT_RULES)
    priority: int | None = Field(None, description="0-10, higher is more urgent (default 0)",
                                 json_schema_extra={"minimum": PRIORITY_MIN,
                                                    "maximum": PRIORITY_MAX})
    estimated_duration: str | None = Field(None, examples=["02:30:00"], description="HH:MM:SS",
                                           json_schema_extra=DURATION_RULES)
    assigned_to: uuid.UUID | None = Field(None, description="A user with access to the project")
    tags: list[str] | None = Field(None, description="At most 20; 1-50 chars of [a-z0-9_.-]",
                                   json_schema_extra=TAGS_RULES)
    metadata: TaskMetadata | None = Field(None, description="JSON object, at most 10 KB; "
                                          "`claude`: this task's agent settings")
    executor: Literal["claude", "shell"] | None = Field(None, description="default claude")
    command: str | None = Field(None, description="Required for shell; prompt for claude",
                                json_schema_extra=TEXT_RULES)
    working_directory: str | None = Field(None, description="Relative to the project "
                                                            "workspace; never outside it",
                                          json_schema_extra=PATH_RULES)


class TaskCreateBody(TaskFields):
    title: str = Field(..., description="1-200 characters", json_schema_extra=NAME_RULES)
    project_id: uuid.UUID


class TaskUpdateBody(TaskFields):
    status: str | None = Field(None, description="pending|completed|failed|cancelled, along "
                                                 "the allowed transitions (queued and running "
                                                 "come only from executing the task)")
    progress_percentage: int | None = Field(None, description="0-100",
                                            json_schema_extra={"minimum": 0, "maximum": 100})


class TaskFilterQuery(PageQuery):
    status: str | None = Field(None, description="One status or several, comma-separated",
                               json_schema_extra={"pattern": listing(TASK_STATUSES)})
    assigned_to: uuid.UUID | None = None
    priority: int | None = Field(None, ge=PRIORITY_MIN, le=PRIORITY_MAX,
                                 description="Minimum priority")
    tags: str | None = Field(None, description="Comma-separated; tasks carrying all of them",
                             json_schema_extra={"pattern": TAG_LIST})
    search: str | None = Field(None, max_length=500, description="See Search Syntax")
    created_after: IsoDateTime | None = Field(None, description="ISO 8601, inclusive")
    created_before: IsoDateTime | None = Field(None, description="ISO 8601, exclusive")
    sort: SortField = "created_at"


class TaskListQuery(TaskFilterQuery):
    project_id: uuid.UUID | None = None


class TaskPath(Path):
    task_id: str


class DependencyPath(Path):
    task_id: str
    dependency_id: str


class BulkBody(Body):
    operation: Literal["update_status", "assign", "add_tags", "remove_tags", "delete",
                       "set_priority"]
    task_ids: list[str] = Field(..., min_length=1, max_length=bulk.MAX_IDS)
    data: dict[str, Any] = Field(default_factory=dict, description="status (+progress_"
                                 "percentage) | assigned_to | tags | priority")


class DependencyBody(Body):
    depends_on_task_id: uuid.UUID
    dependency_type: Literal["blocks"] = "blocks"


# ---------------------------------------------------------------- response models (docs)

class TaskSummary(Response):
    id: str
    project_id: str
    title: str
    status: str
    priority: int
    progress_percentage: int
    assigned_to: str | None
    tags: list[str]
    created_at: str
    updated_at: str


class TaskData(TaskSummary):
    description: str | None
    estimated_duration: str | None
    actual_duration: str | None
    created_by: str
    started_at: str | None
    completed_at: str | None
    metadata: dict[str, Any]
    executor: str
    command: str | None
    working_directory: str | None


class DeletedData(BaseModel):
    message: str
    deleted_at: str


class BulkData(BaseModel):
    operation: str
    affected_count: int
    successful: list[str]
    failed: list[str]
    errors: list[dict[str, Any]]


class HistoryData(BaseModel):
    task_id: str
    history: list[dict[str, Any]]


class DependencyData(Response):
    id: str
    task_id: str
    depends_on_task_id: str
    dependency_type: str
    task: dict[str, Any]


# ---------------------------------------------------------------- helpers

def filters_from(query: TaskFilterQuery, project_id: uuid.UUID | None = None
                 ) -> task_query.TaskFilters:
    fields = query.model_dump(exclude={"page", "page_size", "project_id"})
    return task_query.TaskFilters(project_id=project_id or getattr(query, "project_id", None),
                                  **fields)


def task_page(query: TaskFilterQuery, project_id: uuid.UUID | None = None):
    """One page of tasks as the reference shows it, with pagination links."""
    filters = filters_from(query, project_id)
    page = task_query.list_tasks(current_user(), filters, query.page, query.page_size)
    params = task_query.filter_params(filters)
    if project_id is not None:
        params.pop("project_id", None)
    return envelope(page.to_dict(tasks.task_summary, request.path, params))


def _task_id(path: TaskPath) -> uuid.UUID:
    return parse_id(path.task_id, "TASK_NOT_FOUND")


# ---------------------------------------------------------------- routes

@endpoint(bp, "post", "/", auth="write", summary="Create task", data=TaskData, status=201,
          errors=[403, 404, 409])
def create_task(body: TaskCreateBody):
    """A new pending task in a project the caller may write to."""
    task = tasks.create_task(current_user(), body.model_dump(exclude_unset=True))
    return envelope(tasks.task_dict(task), 201)


@endpoint(bp, "get", "/", auth="read", summary="List tasks", data=PageOf[TaskSummary],
          errors=[403, 404])
def list_tasks(query: TaskListQuery):
    """The tasks the caller may see, filtered, searched, sorted and paginated in SQL."""
    return task_page(query)


@endpoint(bp, "post", "/bulk", auth="write", summary="Bulk task operations", data=BulkData)
def bulk_tasks(body: BulkBody):
    """Apply one operation to up to 500 tasks; each succeeds or fails on its own."""
    return envelope(bulk.run_bulk(current_user(), body.operation, body.task_ids, body.data))


@endpoint(bp, "get", "/<task_id>", auth="read", summary="Get task details", data=TaskData,
          errors=[403, 404])
def get_task(path: TaskPath):
    """The task with its dependencies and history."""
    return envelope(tasks.task_detail(_task_id(path), current_user()))


@endpoint(bp, "put", "/<task_id>", auth="write", summary="Update task", data=TaskData,
          errors=[403, 404, 409])
def update_task(path: TaskPath, body: TaskUpdateBody):
    """Change the given fields; a status change must follow the allowed transitions."""
    task = tasks.update_task(_task_id(path), current_user(), body.model_dump(exclude_unset=True))
    return envelope(tasks.task_dict(task))


@endpoint(bp, "delete", "/<task_id>", auth="write", summary="Delete task", data=DeletedData,
          errors=[403, 404, 409])
def delete_task(path: TaskPath):
    """Soft delete: the row and its history are kept; the task then answers 404."""
    return envelope(tasks.delete_task(_task_id(path), current_user()))


@endpoint(bp, "get", "/<task_id>/history", auth="read", summary="Task history",
          data=HistoryData, errors=[403, 404])
def task_history(path: TaskPath):
    """Every change with its old and new value and who made it, oldest first."""
    return envelope(tasks.task_history(_task_id(path), current_user()))


@endpoint(bp, "post", "/<task_id>/dependencies", auth="write", summary="Add a dependency",
          data=DependencyData, status=201, errors=[403, 404, 409])
def add_dependency(path: TaskPath, body: DependencyBody):
    """This task waits for `depends_on_task_id` (same project; cycles are refused)."""
    dep = dependencies.add_dependency(_task_id(path), current_user(), body.depends_on_task_id,
                                      body.dependency_type)
    return envelope(tasks.dependency_dict(dep), 201)


@endpoint(bp, "delete", "/<task_id>/dependencies/<dependency_id>", auth="write",
          summary="Remove a dependency", data=Message, errors=[403, 404, 409])
def remove_dependency(path: DependencyPath):
    """Drop one dependency of this task."""
    dependencies.remove_dependency(parse_id(path.task_id, "TASK_NOT_FOUND"), current_user(),
                                   parse_id(path.dependency_id, "RESOURCE_NOT_FOUND"))
    return envelope({"message": "Dependency removed successfully"})
