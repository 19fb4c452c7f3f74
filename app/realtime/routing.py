"""Which events a socket receives and as what: the filter the hub runs, and the messages
(task_update, task_completed, project_update, notification, session end).

A mixin of `ClientConnection`. `_accepts` runs on the hub's listener thread and only looks at
in-memory subscriptions; the rest runs on the socket's thread and may read the database.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from app.extensions import db
from app.models.project import Project
from app.realtime import feed, protocol, streams

VISIBILITY_TTL = 30.0


class EventRouting:
    def _accepts(self, event: dict[str, Any]) -> bool:
        """Runs on the hub thread: in-memory checks only."""
        if self.user_id is None:
            return False
        kind = event.get("event") or ""
        scope = event.get("scope") or {}
        if kind.startswith("task."):
            return (scope.get("task_id") in self.task_ids
                    or scope.get("project_id") in self.task_projects
                    or (kind == "task.failed" and "system" in self.sub.topics))
        if kind.startswith("project."):
            return scope.get("project_id") in self.projects
        if kind == "command.updated":
            return f"command:{scope.get('command_id')}" in self.streams
        if kind == "execution.updated":
            return f"execution:{scope.get('execution_id')}" in self.streams
        if kind == "system.maintenance":  # every client: its writes are refused meanwhile
            return True
        if kind.startswith("system."):
            return "system" in self.sub.topics
        if kind == "notification":
            return scope.get("user_id") == self.user_id
        if kind.startswith("session."):
            return scope.get("session_id") == self.session_id
        return False

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("event") or ""
        scope = event.get("scope") or {}
        if kind.startswith("task."):
            self._on_task_event(event, scope)
        elif kind.startswith("project.") and scope.get("project_id") in self.projects:
            if self._can_see(scope.get("project_id")):
                self._send(feed.project_update(event))
        elif kind in ("command.updated", "execution.updated"):
            owner = kind.split(".")[0]
            stream = self.streams.get(f"{owner}:{scope.get(f'{owner}_id')}")
            status = (event.get("data") or {}).get("status")
            if stream is not None and status in streams.FINAL:
                self._catch_up(stream)
                self._finish(stream, streams.status_of(owner, stream.owner_id))
        elif kind.startswith("system.") and self._can_see(scope.get("project_id")):
            self._send(feed.system_notice(event))  # a project's alert: its people only
        elif kind == "notification":
            self._send(feed.user_notice(event))
        elif kind == "session.deleted":
            self._send(protocol.error("SESSION_NOT_FOUND", "This session was deleted"))
            raise protocol.Close(1000, "session deleted")

    def _on_task_event(self, event: dict[str, Any], scope: dict[str, Any]) -> None:
        task_id, project_id = scope.get("task_id"), scope.get("project_id")
        watching = task_id in self.task_ids or project_id in self.task_projects
        if watching and self._can_see(project_id):
            if event["event"] in ("task.created", "task.updated", "task.deleted"):
                self._send(feed.task_update(event))
            if feed.is_finish(event):
                self._send(feed.task_completed(event))
        if event["event"] == "task.failed" and "system" in self.sub.topics:
            self._send(feed.task_failed_notice(event, self.user_id))

    def _can_see(self, project_id: str | None) -> bool:
        """Access re-checked at most every VISIBILITY_TTL seconds (membership can change)."""
        if project_id is None:
            return True
        hit = self._visible.get(project_id)
        now = time.monotonic()
        if hit and hit[1] > now:
            return hit[0]
        project = db.session.get(Project, uuid.UUID(project_id))
        user = self._user()
        # A deleted project is still "visible" here: its subscribers should hear it went.
        ok = bool(project and user and (user.is_admin or project.created_by == user.id
                                        or user.id in project.member_ids))
        self._visible[project_id] = (ok, now + VISIBILITY_TTL)
        return ok
