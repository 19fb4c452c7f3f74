"""`/api/projects`: create, list, read, update, delete, the project's tasks, clone, analytics.

Routes only parse and delegate to `app.services` (projects, project_clone, analytics,
task_query), which the pages call too.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from flask import request
from pydantic import Field

from app.api.common import blueprint, endpoint
from app.api.schemas import (
    NAME_RULES,
    TEXT_RULES,
    Deleted,
    PageOf,
    PageQuery,
    ProjectSettings,
    listing,
)
from app.api.tasks import TaskFilterQuery, TaskSummary, task_page
from app.api.validation import Body, Path, Query, Response
from app.errors import envelope
from app.security import current_user
from app.services import analytics, project_clone, projects
from app.services.validation import parse_id

bp = blueprint("api_projects", "/api/projects", "Projects",
               "Projects, their tasks, clones and analytics")


PROJECT_STATUSES = ("active", "archived", "completed")


LIMITS_RULES = {"additionalProperties": False, "properties": {
    "max_tasks": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
    "max_concurrent_tasks": {"type": "integer", "minimum": 1, "maximum": 1_000},
    "storage_limit": {"type": "string", "examples": ["500MB"], "pattern": (
        r"^\s*0*[1-9][0-9]{0,5}(?:\.[0-9]{1,3})?\s*(?:[Bb]|[KkMmGgTt][Bb])\s*$")},
    "monthly_budget_usd": {"anyOf": [{"type": "number", "exclusiveMinimum": 0,
                                      "maximum": 1_000_000}, {"type": "null"}],
                           "examples": [50]},
}}


class ProjectFields(Body):
    name: str | None = Field(None, description="1-200 characters", json_schema_extra=NAME_RULES)
    description: str | None = Field(None, json_schema_extra=TEXT_RULES)
    settings: ProjectSettings | None = Field(None, description="Any JSON object (10 KB), "
                                             "merged key by key; `members` and `agent` are "
                                             "checked")
    resource_limits: dict[str, Any] | None = Field(None, description="max_tasks, "
                                                   "max_concurrent_tasks, storage_limit, "
                                                   "monthly_budget_usd (null: no budget)",
                                                   json_schema_extra=LIMITS_RULES)


class ProjectCreateBody(ProjectFields):
    name: str = Field(..., description="1-200 characters", json_schema_extra=NAME_RULES)


class ProjectUpdateBody(ProjectFields):
    status: Literal["active", "archived", "completed"] | None = None


class ProjectListQuery(PageQuery):
    status: str | None = Field(None, description="active, archived, completed (comma-separated)",
                               json_schema_extra={"pattern": listing(PROJECT_STATUSES)})
    created_by: uuid.UUID | None = None
    search: str | None = Field(None, max_length=200, description="Words in name or description")
    sort: Literal["name", "created_at", "updated_at"] = "created_at"


class CloneBody(Body):
    name: str | None = Field(None, description="Default: '<name> (copy)'",
                             json_schema_extra=NAME_RULES)
    include_tasks: bool = False
    include_settings: bool = True


class AnalyticsQuery(Query):
    period: Literal["7d", "30d", "90d", "1y"] = "30d"


class ProjectPath(Path):
    project_id: str


class ProjectData(Response):
    id: str
    name: str
    description: str | None
    status: str
    created_by: str
    created_at: str
    updated_at: str
    settings: dict[str, Any]
    resource_limits: dict[str, Any]
    statistics: dict[str, Any] | None = None


class ProjectDetail(ProjectData):
    recent_activity: list[dict[str, Any]]


class AnalyticsData(Response):
    project_id: str
    period: str
    summary: dict[str, Any]
    task_trends: dict[str, Any]
    performance_metrics: dict[str, Any]
    team_performance: list[dict[str, Any]]
    costs: dict[str, Any] = Field(description="Claude spend in the period (total, per_day, "
                                  "by_user, by_task, tokens) and this month's budget")


def _project_id(path: ProjectPath) -> uuid.UUID:
    return parse_id(path.project_id, "PROJECT_NOT_FOUND")


def _with_stats(project) -> dict[str, Any]:
    stats = projects.statistics_for([project.id])[project.id]
    return projects.project_dict(project, stats)


@endpoint(bp, "post", "/", auth="write", summary="Create project", data=ProjectData, status=201)
def create_project(body: ProjectCreateBody):
    """A new project owned by the caller, with its workspace directory."""
    project = projects.create_project(current_user(),
                                      **body.model_dump(mode="json", exclude_unset=True))
    return envelope(_with_stats(project), 201)


@endpoint(bp, "get", "/", auth="read", summary="List projects", data=PageOf[ProjectData])
def list_projects(query: ProjectListQuery):
    """The projects the caller may see, with task statistics."""
    result = projects.list_projects(current_user(), **query.model_dump(exclude_none=True))
    links = query.model_dump(exclude_none=True, mode="json")
    return envelope(projects.page_dict(result, request.path, links))


@endpoint(bp, "get", "/<project_id>", auth="read", summary="Get project details",
          data=ProjectDetail, errors=[403, 404])
def get_project(path: ProjectPath):
    """Settings, limits, statistics and recent activity."""
    return envelope(projects.project_detail(_project_id(path), current_user()))


@endpoint(bp, "put", "/<project_id>", auth="write", summary="Update project", data=ProjectData,
          errors=[403, 404, 409])
def update_project(path: ProjectPath, body: ProjectUpdateBody):
    """Change the given fields (owner or admin); settings and limits merge key by key."""
    project = projects.update_project(_project_id(path), current_user(),
                                      body.model_dump(mode="json", exclude_unset=True))
    return envelope(_with_stats(project))


class ProjectDeleted(Deleted):
    tasks_deleted: int


@endpoint(bp, "delete", "/<project_id>", auth="write", summary="Delete project",
          data=ProjectDeleted, errors=[403, 404, 409])
def delete_project(path: ProjectPath):
    """Soft delete with its tasks (owner or admin); afterwards the project answers 404."""
    return envelope(projects.delete_project(_project_id(path), current_user()))


@endpoint(bp, "get", "/<project_id>/tasks", auth="read", summary="Get project tasks",
          data=PageOf[TaskSummary], errors=[403, 404])
def project_tasks(path: ProjectPath, query: TaskFilterQuery):
    """The project's tasks, with the same filters as GET /api/tasks/."""
    return task_page(query, _project_id(path))


@endpoint(bp, "post", "/<project_id>/clone", auth="write", summary="Clone project",
          data=ProjectData, status=201, errors=[403, 404, 409])
def clone_project(path: ProjectPath, body: CloneBody):
    """A copy owned by the caller; tasks start pending, dependencies remapped."""
    clone = project_clone.clone_project(_project_id(path), current_user(), body.name,
                                        body.include_tasks, body.include_settings)
    return envelope(_with_stats(clone), 201)


@endpoint(bp, "get", "/<project_id>/analytics", auth="read", summary="Project analytics",
          data=AnalyticsData, errors=[403, 404])
def project_analytics(path: ProjectPath, query: AnalyticsQuery):
    """Summary, per-day trends, durations, rates and team figures for the period."""
    return envelope(analytics.project_analytics(_project_id(path), current_user(),
                                                query.period))
