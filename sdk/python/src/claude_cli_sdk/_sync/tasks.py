# GENERATED from _async/tasks.py by scripts/unasync.py: edit that file, then re-run.
# ruff: noqa
"""`client.tasks` and `client.executions` (api-reference "Tasks", CONTRACT §3)."""

from __future__ import annotations

from collections.abc import Iterator, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from claude_cli_sdk import _base
from claude_cli_sdk._sync import _compat
from claude_cli_sdk._sync.http import Transport
from claude_cli_sdk._base import body, operation, path_id, query
from claude_cli_sdk._records import NOT_GIVEN, Page
from claude_cli_sdk.models import (
    ApprovalData,
    BulkData,
    DeletedData,
    DependencyData,
    DiffData,
    ExecutionData,
    FollowUpData,
    HistoryData,
    InterruptData,
    Message,
    QueuedData,
    RetryData,
    SentData,
    TaskCancelData,
    TaskData,
    TaskSummary,
    WorktreeChange,
)

Priority = Literal["high", "normal", "low"]
Statuses = str | Iterable[str] | None
Tags = str | Iterable[str] | None


class Tasks:
    """Tasks: create, list and filter, change, run, cancel, retry, history, dependencies."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    @operation("POST", "/api/tasks/")
    def create(self, title: str, project_id: Any, *, description: str | None = NOT_GIVEN,
                     priority: int | None = NOT_GIVEN, estimated_duration: str | None = NOT_GIVEN,
                     assigned_to: Any = NOT_GIVEN, tags: Sequence[str] | None = NOT_GIVEN,
                     metadata: Mapping[str, Any] | None = NOT_GIVEN,
                     executor: Literal["claude", "shell"] | None = NOT_GIVEN,
                     command: str | None = NOT_GIVEN,
                     working_directory: str | None = NOT_GIVEN) -> TaskData:
        """A new pending task (`executor="shell"` needs `command`; for claude it is the prompt)."""
        data = self._t.request("POST", "/tasks/", json=body(
            title=title, project_id=project_id, description=description, priority=priority,
            estimated_duration=estimated_duration, assigned_to=assigned_to, tags=tags,
            metadata=metadata, executor=executor, command=command,
            working_directory=working_directory))
        return TaskData(data)

    @operation("GET", "/api/tasks/")
    def list(self, *, project_id: Any = None, status: Statuses = None,
                   assigned_to: Any = None, priority: int | None = None, tags: Tags = None,
                   search: str | None = None, created_after: datetime | str | None = None,
                   created_before: datetime | str | None = None, sort: str | None = None,
                   order: Literal["asc", "desc"] | None = None, page: int | None = None,
                   page_size: int | None = None) -> Page[TaskSummary]:
        """One page of the tasks you may see; `status` and `tags` take a list or a string."""
        data = self._t.request("GET", "/tasks/", params=query(
            project_id=project_id, status=status, assigned_to=assigned_to, priority=priority,
            tags=tags, search=search, created_after=created_after, created_before=created_before,
            sort=sort, order=order, page=page, page_size=page_size))
        return Page(data, TaskSummary)

    def iter(self, *, page_size: int = 100, **filters: Any) -> Iterator[TaskSummary]:
        """Every task matching the filters of `list()`, page after page."""
        for item in _compat.pages(
                lambda n: self.list(page=n, page_size=page_size, **filters)):
            yield item

    @operation("GET", "/api/tasks/{task_id}")
    def get(self, task_id: Any) -> TaskData:
        """The task with its dependencies and recent history."""
        return TaskData(self._t.request("GET", f"/tasks/{path_id(task_id)}"))

    @operation("PUT", "/api/tasks/{task_id}")
    def update(self, task_id: Any, *, title: str | None = NOT_GIVEN,
                     description: str | None = NOT_GIVEN, status: str | None = NOT_GIVEN,
                     priority: int | None = NOT_GIVEN,
                     progress_percentage: int | None = NOT_GIVEN,
                     estimated_duration: str | None = NOT_GIVEN, assigned_to: Any = NOT_GIVEN,
                     tags: Sequence[str] | None = NOT_GIVEN,
                     metadata: Mapping[str, Any] | None = NOT_GIVEN,
                     executor: Literal["claude", "shell"] | None = NOT_GIVEN,
                     command: str | None = NOT_GIVEN,
                     working_directory: str | None = NOT_GIVEN) -> TaskData:
        """Change the fields given (None clears a field that may be empty)."""
        data = self._t.request("PUT", f"/tasks/{path_id(task_id)}", json=body(
            title=title, description=description, status=status, priority=priority,
            progress_percentage=progress_percentage, estimated_duration=estimated_duration,
            assigned_to=assigned_to, tags=tags, metadata=metadata, executor=executor,
            command=command, working_directory=working_directory))
        return TaskData(data)

    @operation("DELETE", "/api/tasks/{task_id}")
    def delete(self, task_id: Any) -> DeletedData:
        """Soft delete (kept with its history; answers 404 afterwards)."""
        return DeletedData(self._t.request("DELETE", f"/tasks/{path_id(task_id)}"))

    @operation("POST", "/api/tasks/bulk")
    def bulk(self, operation: Literal["update_status", "assign", "add_tags", "remove_tags",
                                            "delete", "set_priority"],
                   task_ids: Iterable[Any], data: Mapping[str, Any] | None = None) -> BulkData:
        """One operation on many tasks; each id succeeds or fails on its own."""
        payload = body(operation=operation, task_ids=_base.strs(task_ids),
                       data=dict(data) if data is not None else NOT_GIVEN)
        return BulkData(self._t.request("POST", "/tasks/bulk", json=payload))

    @operation("GET", "/api/tasks/{task_id}/history")
    def history(self, task_id: Any) -> HistoryData:
        """Every change of the task, oldest first."""
        return HistoryData(self._t.request("GET", f"/tasks/{path_id(task_id)}/history"))

    @operation("POST", "/api/tasks/{task_id}/execute")
    def execute(self, task_id: Any, *, priority: Priority = "normal",
                      timeout: int | None = None, retry_attempts: int | None = None,
                      environment: Mapping[str, str] | None = None, force: bool | None = None,
                      options: Mapping[str, Any] | None = None) -> QueuedData:
        """Queue a run; `execution_id` names it (`client.stream(execution_id)` follows it)."""
        opts = dict(options or {})
        given = {"timeout": timeout, "retry_attempts": retry_attempts, "force": force,
                 "environment": dict(environment) if environment is not None else None}
        opts.update({k: v for k, v in given.items() if v is not None})
        payload = body(priority=priority, options=opts or NOT_GIVEN)
        return QueuedData(self._t.request(
            "POST", f"/tasks/{path_id(task_id)}/execute", json=payload))

    @operation("POST", "/api/tasks/{task_id}/follow-up")
    def follow_up(self, task_id: Any, message: str, *, priority: Priority = "normal",
                        options: Mapping[str, Any] | None = None) -> FollowUpData:
        """A new run that resumes the task's last Claude session with `message` as its
        prompt (409 CLAUDE_NO_SESSION when the task has no conversation yet)."""
        payload = body(message=message, priority=priority,
                       options=dict(options) if options else NOT_GIVEN)
        return FollowUpData(self._t.request(
            "POST", f"/tasks/{path_id(task_id)}/follow-up", json=payload))

    @operation("POST", "/api/tasks/{task_id}/cancel")
    def cancel(self, task_id: Any, reason: str | None = None) -> TaskCancelData:
        """Cancel a queued or running task (its process group is stopped)."""
        return TaskCancelData(self._t.request(
            "POST", f"/tasks/{path_id(task_id)}/cancel", json=body(reason=reason)))

    @operation("POST", "/api/tasks/{task_id}/retry")
    def retry(self, task_id: Any) -> RetryData:
        """Run a failed (or cancelled) task again, as a new execution."""
        return RetryData(self._t.request("POST", f"/tasks/{path_id(task_id)}/retry"))

    @operation("GET", "/api/tasks/{task_id}/executions")
    def executions(self, task_id: Any, *, page: int | None = None,
                         page_size: int | None = None,
                         order: Literal["asc", "desc"] | None = None) -> Page[ExecutionData]:
        """One page of the task's runs."""
        data = self._t.request("GET", f"/tasks/{path_id(task_id)}/executions",
                                     params=query(page=page, page_size=page_size, order=order))
        return Page(data, ExecutionData)

    def iter_executions(self, task_id: Any, *, page_size: int = 100,
                              order: Literal["asc", "desc"] | None = None
                              ) -> Iterator[ExecutionData]:
        """Every run of the task."""
        for item in _compat.pages(lambda n: self.executions(
                task_id, page=n, page_size=page_size, order=order)):
            yield item

    @operation("POST", "/api/tasks/{task_id}/dependencies")
    def add_dependency(self, task_id: Any, depends_on_task_id: Any,
                             dependency_type: Literal["blocks"] = "blocks") -> DependencyData:
        """`task_id` waits for `depends_on_task_id` (same project; a cycle is a 409)."""
        return DependencyData(self._t.request(
            "POST", f"/tasks/{path_id(task_id)}/dependencies",
            json=body(depends_on_task_id=depends_on_task_id, dependency_type=dependency_type)))

    @operation("DELETE", "/api/tasks/{task_id}/dependencies/{dependency_id}")
    def remove_dependency(self, task_id: Any, dependency_id: Any) -> Message:
        return Message(self._t.request(
            "DELETE", f"/tasks/{path_id(task_id)}/dependencies/{path_id(dependency_id)}"))

    @operation("GET", "/api/tasks/{task_id}/diff")
    def diff(self, task_id: Any, *, page: int | None = None,
                   page_size: int | None = None) -> DiffData:
        """The task's git worktree against its base (projects with `settings.git`): files
        with +/- counts and numbered hunks, `page_size` files a page."""
        return DiffData(self._t.request("GET", f"/tasks/{path_id(task_id)}/diff",
                                              params=query(page=page, page_size=page_size)))

    @operation("POST", "/api/tasks/{task_id}/worktree/commit")
    def commit_worktree(self, task_id: Any, message: str) -> WorktreeChange:
        """Commit everything changed in the task's worktree (you are the author)."""
        return WorktreeChange(self._t.request(
            "POST", f"/tasks/{path_id(task_id)}/worktree/commit", json=body(message=message)))

    @operation("POST", "/api/tasks/{task_id}/worktree/discard")
    def discard_worktree(self, task_id: Any, *, confirm: bool = False) -> WorktreeChange:
        """Throw away the worktree's uncommitted changes (`confirm=True` is required)."""
        return WorktreeChange(self._t.request(
            "POST", f"/tasks/{path_id(task_id)}/worktree/discard", json=body(confirm=confirm)))

    @operation("POST", "/api/tasks/{task_id}/worktree/merge")
    def merge_worktree(self, task_id: Any) -> WorktreeChange:
        """Merge the task's branch into its base (a conflict is a 409, nothing written)."""
        return WorktreeChange(self._t.request(
            "POST", f"/tasks/{path_id(task_id)}/worktree/merge", json={}))


class Executions:
    """Runs of tasks: status, result and output lines (`after_seq` for what is new)."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    @operation("GET", "/api/executions/{execution_id}")
    def get(self, execution_id: Any, *, after_seq: int | None = None,
                  limit: int | None = None) -> ExecutionData:
        """The run with its output lines after `after_seq` (at most `limit`)."""
        return ExecutionData(self._t.request(
            "GET", f"/executions/{path_id(execution_id)}",
            params=query(after_seq=after_seq, limit=limit)))

    @operation("POST", "/api/executions/{execution_id}/messages")
    def send_message(self, execution_id: Any, message: str) -> SentData:
        """A message for a running Claude run: its CLI reads it as the next user message."""
        return SentData(self._t.request(
            "POST", f"/executions/{path_id(execution_id)}/messages", json=body(message=message)))

    @operation("POST", "/api/executions/{execution_id}/interrupt")
    def interrupt(self, execution_id: Any, message: str | None = None) -> InterruptData:
        """Stop what the running Claude run is doing; with `message` it goes on with that,
        without one the run ends (cancelled, "interrupted")."""
        return InterruptData(self._t.request(
            "POST", f"/executions/{path_id(execution_id)}/interrupt",
            json=body(message=message)))

    @operation("GET", "/api/executions/{execution_id}/approvals")
    def approvals(self, execution_id: Any) -> list[ApprovalData]:
        """The run's permission requests, oldest first (`status` "pending" waits for you)."""
        data = self._t.request("GET", f"/executions/{path_id(execution_id)}/approvals")
        return [ApprovalData(item) for item in data["items"]]

    @operation("POST", "/api/approvals/{approval_id}/decision")
    def decide(self, approval_id: Any, decision: Literal["allow", "deny"],
                     message: str | None = None) -> ApprovalData:
        """Allow or deny a pending permission request (a denial's `message` is told to
        Claude); 409 when it was already answered, timed out or its run ended."""
        return ApprovalData(self._t.request(
            "POST", f"/approvals/{path_id(approval_id)}/decision",
            json=body(decision=decision, message=message)))
