# GENERATED from _async/projects.py by scripts/unasync.py: edit that file, then re-run.
# ruff: noqa
"""`client.projects` (api-reference "Projects")."""

from __future__ import annotations

from collections.abc import Iterator, Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

from claude_cli_sdk._sync import _compat
from claude_cli_sdk._sync.http import Transport
from claude_cli_sdk._base import body, operation, path_id, query
from claude_cli_sdk._records import NOT_GIVEN, Page
from claude_cli_sdk.models import (
    AnalyticsData,
    ProjectData,
    ProjectDeleted,
    ProjectDetail,
    TaskSummary,
)


class Projects:
    """Projects: create, list, change, archive, clone, their tasks and analytics."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    @operation("POST", "/api/projects/")
    def create(self, name: str, *, description: str | None = NOT_GIVEN,
                     settings: Mapping[str, Any] | None = NOT_GIVEN,
                     resource_limits: Mapping[str, Any] | None = NOT_GIVEN) -> ProjectData:
        """A new project (and its workspace); `settings.members` lists who shares it."""
        return ProjectData(self._t.request("POST", "/projects/", json=body(
            name=name, description=description, settings=settings,
            resource_limits=resource_limits)))

    @operation("GET", "/api/projects/")
    def list(self, *, status: str | Iterable[str] | None = None, created_by: Any = None,
                   search: str | None = None, sort: str | None = None,
                   order: Literal["asc", "desc"] | None = None, page: int | None = None,
                   page_size: int | None = None) -> Page[ProjectData]:
        """One page of the projects you may see."""
        data = self._t.request("GET", "/projects/", params=query(
            status=status, created_by=created_by, search=search, sort=sort, order=order,
            page=page, page_size=page_size))
        return Page(data, ProjectData)

    def iter(self, *, page_size: int = 100, **filters: Any) -> Iterator[ProjectData]:
        """Every project matching the filters of `list()`."""
        for item in _compat.pages(
                lambda n: self.list(page=n, page_size=page_size, **filters)):
            yield item

    @operation("GET", "/api/projects/{project_id}")
    def get(self, project_id: Any) -> ProjectDetail:
        """The project with statistics and recent activity."""
        return ProjectDetail(self._t.request("GET", f"/projects/{path_id(project_id)}"))

    @operation("PUT", "/api/projects/{project_id}")
    def update(self, project_id: Any, *, name: str | None = NOT_GIVEN,
                     description: str | None = NOT_GIVEN, status: str | None = NOT_GIVEN,
                     settings: Mapping[str, Any] | None = NOT_GIVEN,
                     resource_limits: Mapping[str, Any] | None = NOT_GIVEN) -> ProjectData:
        """Change the fields given (`status="archived"` makes it read-only)."""
        return ProjectData(self._t.request("PUT", f"/projects/{path_id(project_id)}",
                                                 json=body(name=name, description=description,
                                                           status=status, settings=settings,
                                                           resource_limits=resource_limits)))

    @operation("DELETE", "/api/projects/{project_id}")
    def delete(self, project_id: Any) -> ProjectDeleted:
        """Soft delete, with its tasks."""
        return ProjectDeleted(self._t.request("DELETE",
                                                    f"/projects/{path_id(project_id)}"))

    @operation("GET", "/api/projects/{project_id}/tasks")
    def tasks(self, project_id: Any, *, status: str | Iterable[str] | None = None,
                    assigned_to: Any = None, priority: int | None = None,
                    tags: str | Iterable[str] | None = None, search: str | None = None,
                    created_after: datetime | str | None = None,
                    created_before: datetime | str | None = None, sort: str | None = None,
                    order: Literal["asc", "desc"] | None = None, page: int | None = None,
                    page_size: int | None = None) -> Page[TaskSummary]:
        """One page of the project's tasks (the filters of `tasks.list()`)."""
        data = self._t.request("GET", f"/projects/{path_id(project_id)}/tasks",
                                     params=query(status=status, assigned_to=assigned_to,
                                                  priority=priority, tags=tags, search=search,
                                                  created_after=created_after,
                                                  created_before=created_before, sort=sort,
                                                  order=order, page=page, page_size=page_size))
        return Page(data, TaskSummary)

    def iter_tasks(self, project_id: Any, *, page_size: int = 100,
                         **filters: Any) -> Iterator[TaskSummary]:
        """Every task of the project matching the filters."""
        for item in _compat.pages(lambda n: self.tasks(
                project_id, page=n, page_size=page_size, **filters)):
            yield item

    @operation("POST", "/api/projects/{project_id}/clone")
    def clone(self, project_id: Any, *, name: str | None = NOT_GIVEN,
                    include_tasks: bool = NOT_GIVEN,
                    include_settings: bool = NOT_GIVEN) -> ProjectData:
        """A copy (tasks as pending, dependencies remapped) with a new, empty workspace."""
        return ProjectData(self._t.request(
            "POST", f"/projects/{path_id(project_id)}/clone",
            json=body(name=name, include_tasks=include_tasks,
                      include_settings=include_settings)))

    @operation("GET", "/api/projects/{project_id}/analytics")
    def analytics(self, project_id: Any, *,
                        period: Literal["7d", "30d", "90d", "1y"] | None = None
                        ) -> AnalyticsData:
        """Per-day trends, durations, completion rates and team figures over `period`."""
        return AnalyticsData(self._t.request(
            "GET", f"/projects/{path_id(project_id)}/analytics", params=query(period=period)))
