"""Tasks: create, read, update, delete through the API, against the real database."""

from __future__ import annotations

import json
import uuid

import pytest

from app.errors import utcnow
from app.extensions import db, get_redis
from app.models.audit import AuditLog
from app.models.execution import TaskExecution
from app.models.task import Task
from app.services.events import EVENTS_CHANNEL
from app.services.task_status import change_status
from tests import factories
from tests.live import wait_for


@pytest.fixture
def project(ctx, developer):
    return factories.project(developer, name="Platform")


def new_task(api, project, **fields):
    return api.ok("post", "/api/tasks/", {"project_id": str(project.id), "title": "A task",
                                          **fields}, expect=201)


def test_create_returns_the_reference_shape(api_for, developer, project):
    other = factories.user()
    data = new_task(api_for(developer), project, title="Implement user authentication",
                    description="Add JWT-based authentication", priority=1,
                    estimated_duration="02:30:00", assigned_to=str(developer.id),
                    tags=["Authentication", "security", "security"],
                    metadata={"component": "backend"})
    assert data["status"] == "pending" and data["progress_percentage"] == 0
    assert data["estimated_duration"] == "02:30:00" and data["actual_duration"] is None
    assert data["tags"] == ["authentication", "security"]
    assert data["metadata"] == {"component": "backend"}
    assert data["created_by"] == str(developer.id) and data["assigned_to"] == str(developer.id)
    assert data["executor"] == "claude" and data["working_directory"] is None
    assert data["started_at"] is None and data["completed_at"] is None
    row = db.session.get(Task, uuid.UUID(data["id"]))
    assert row.estimated_duration == 9000 and row.title == "Implement user authentication"
    assert other.id != developer.id


@pytest.mark.parametrize("fields, field, code", [
    ({"title": ""}, "title", "VALIDATION_VALUE_TOO_SHORT"),
    ({"title": "   "}, "title", "VALIDATION_VALUE_TOO_SHORT"),
    ({"title": "x" * 201}, "title", "VALIDATION_VALUE_TOO_LONG"),
    ({"priority": 11}, "priority", "VALIDATION_ERROR"),
    ({"priority": -1}, "priority", "VALIDATION_ERROR"),
    ({"estimated_duration": "2h"}, "estimated_duration", "VALIDATION_INVALID_FORMAT"),
    ({"estimated_duration": "01:60:00"}, "estimated_duration", "VALIDATION_INVALID_FORMAT"),
    ({"tags": ["has space"]}, "tags", "VALIDATION_INVALID_FORMAT"),
    ({"tags": ["x" * 51]}, "tags", "VALIDATION_VALUE_TOO_LONG"),
    ({"tags": [f"t{i}" for i in range(21)]}, "tags", "VALIDATION_VALUE_TOO_LONG"),
    ({"tags": [""]}, "tags", "VALIDATION_VALUE_TOO_SHORT"),
    ({"metadata": {"blob": "x" * 11000}}, "metadata", "VALIDATION_VALUE_TOO_LONG"),
    ({"metadata": ["not", "an", "object"]}, "metadata", "VALIDATION_ERROR"),
    ({"executor": "python"}, "executor", "VALIDATION_ERROR"),
    ({"executor": "shell"}, "command", "VALIDATION_REQUIRED_FIELD"),
    ({"executor": "shell", "command": "  "}, "command", "VALIDATION_REQUIRED_FIELD"),
    ({"working_directory": "../other"}, "working_directory", "VALIDATION_ERROR"),
    ({"working_directory": "/etc"}, "working_directory", "VALIDATION_ERROR"),
    ({"assigned_to": str(uuid.uuid4())}, "assigned_to", "VALIDATION_ERROR"),
    ({"assigned_to": "nobody"}, "assigned_to", "VALIDATION_INVALID_FORMAT"),
    ({"unknown": 1}, "unknown", "VALIDATION_ERROR"),
])
def test_create_rejects_bad_fields(api_for, developer, project, fields, field, code):
    status, got, error = api_for(developer).error(
        "post", "/api/tasks/", {"project_id": str(project.id), "title": "ok", **fields})
    assert (status, got, error["details"]["field"]) == (422, code, field), error
    assert db.session.query(Task).count() == 0


def test_create_requires_title_and_project(api_for, developer, project):
    api = api_for(developer)
    status, code, error = api.error("post", "/api/tasks/", {"project_id": str(project.id)})
    assert (status, code, error["details"]["field"]) == (422, "VALIDATION_REQUIRED_FIELD",
                                                           "title")
    status, code, error = api.error("post", "/api/tasks/", {"title": "x"})
    assert (status, code, error["details"]["field"]) == (422, "VALIDATION_REQUIRED_FIELD",
                                                           "project_id")
    status, code, _ = api.error("post", "/api/tasks/", {"title": "x",
                                                        "project_id": str(uuid.uuid4())})
    assert (status, code) == (404, "PROJECT_NOT_FOUND")


def test_shell_task_and_working_directory_inside_workspace(api_for, developer, project):
    data = new_task(api_for(developer), project, executor="shell", command="make test",
                    working_directory="src/./app/../lib")
    assert data["executor"] == "shell" and data["command"] == "make test"
    assert data["working_directory"] == "src/lib"


def test_assignee_must_have_access_to_the_project(api_for, developer, project):
    outsider = factories.user()
    status, code, error = api_for(developer).error(
        "post", "/api/tasks/", {"project_id": str(project.id), "title": "x",
                                "assigned_to": str(outsider.id)})
    assert (status, code, error["details"]["field"]) == (422, "VALIDATION_ERROR", "assigned_to")


def test_write_rules_on_create(api_for, developer, viewer, project):
    outsider = factories.user()
    body = {"project_id": str(project.id), "title": "x"}
    assert api_for(outsider).error("post", "/api/tasks/", body)[:2] == (
        403, "PROJECT_ACCESS_DENIED")
    assert api_for(viewer).error("post", "/api/tasks/", body)[:2] == (
        403, "AUTH_INSUFFICIENT_PERMISSIONS")
    archived = factories.project(developer, status="archived")
    assert api_for(developer).error("post", "/api/tasks/", {**body, "project_id": str(
        archived.id)})[:2] == (409, "PROJECT_ARCHIVED")


def test_max_tasks_limit(api_for, developer):
    small = factories.project(developer, resource_limits={"max_tasks": 2})
    api = api_for(developer)
    new_task(api, small)
    new_task(api, small)
    status, code, error = api.error("post", "/api/tasks/", {"project_id": str(small.id),
                                                            "title": "third"})
    assert (status, code) == (409, "PROJECT_LIMIT_EXCEEDED")
    assert error["details"]["max_tasks"] == 2


def test_get_details_with_dependencies_and_history(api_for, developer, project):
    api = api_for(developer)
    base = new_task(api, project, title="Setup database schema")
    task = new_task(api, project, title="Auth")
    api.ok("post", f"/api/tasks/{task['id']}/dependencies", {"depends_on_task_id": base["id"]},
           expect=201)
    api.ok("put", f"/api/tasks/{task['id']}", {"status": "cancelled"})
    data = api.ok("get", f"/api/tasks/{task['id']}")
    assert data["dependencies"][0]["depends_on_task_id"] == base["id"]
    assert data["dependencies"][0]["task"] == {"title": "Setup database schema",
                                               "status": "pending"}
    assert [h["action"] for h in data["history"]] == ["created", "dependency_added",
                                                      "status_changed"]
    assert data["history"][-1]["old_value"] == "pending"
    assert data["history"][-1]["new_value"] == "cancelled"
    assert data["history"][-1]["user_id"] == str(developer.id)


def test_unknown_and_malformed_ids_are_404(api_for, developer):
    api = api_for(developer)
    for tid in (uuid.uuid4(), "not-a-uuid"):
        assert api.error("get", f"/api/tasks/{tid}")[:2] == (404, "TASK_NOT_FOUND")
        assert api.error("put", f"/api/tasks/{tid}", {"title": "x"})[:2] == (
            404, "TASK_NOT_FOUND")
        assert api.error("delete", f"/api/tasks/{tid}")[:2] == (404, "TASK_NOT_FOUND")
        assert api.error("get", f"/api/tasks/{tid}/history")[:2] == (404, "TASK_NOT_FOUND")


def test_update_fields_and_history(api_for, developer, project):
    api = api_for(developer)
    task = new_task(api, project, priority=1, tags=["a"])
    data = api.ok("put", f"/api/tasks/{task['id']}", {
        "title": "Renamed", "priority": 5, "tags": ["b", "A"], "metadata": {"k": 1},
        "estimated_duration": "00:10:00", "assigned_to": str(developer.id),
        "progress_percentage": 40})
    assert (data["title"], data["priority"], data["tags"]) == ("Renamed", 5, ["b", "a"])
    assert data["estimated_duration"] == "00:10:00" and data["progress_percentage"] == 40
    history = api.ok("get", f"/api/tasks/{task['id']}/history")["history"]
    changes = {h["details"]["field"]: (h["details"]["old_value"], h["details"]["new_value"])
               for h in history if h["action"] == "updated"}
    assert changes["title"] == ("A task", "Renamed")
    assert changes["priority"] == (1, 5)
    assert changes["tags"] == (["a"], ["b", "a"])
    assert changes["estimated_duration"] == (None, "00:10:00")
    assert changes["assigned_to"] == (None, str(developer.id))
    assert history[0]["action"] == "created"
    assert history[0]["details"]["initial_data"]["title"] == "A task"
    assert {h["user_name"] for h in history} == {developer.username}
    # Unchanged values write no history.
    api.ok("put", f"/api/tasks/{task['id']}", {"title": "Renamed"})
    assert len(api.ok("get", f"/api/tasks/{task['id']}/history")["history"]) == len(history)
    # Unassign with an explicit null.
    assert api.ok("put", f"/api/tasks/{task['id']}", {"assigned_to": None})[
        "assigned_to"] is None


def test_status_transitions_and_timestamps(api_for, developer, project):
    api = api_for(developer)
    task = new_task(api, project)
    url = f"/api/tasks/{task['id']}"
    done = api.ok("put", url, {"status": "completed"})
    assert done["completed_at"] is not None and done["progress_percentage"] == 100
    assert done["started_at"] is None and done["actual_duration"] is None  # never ran
    status, code, error = api.error("put", url, {"status": "cancelled"})
    assert (status, code) == (409, "TASK_INVALID_TRANSITION")
    assert (error["details"]["from"], error["details"]["allowed"]) == ("completed", ["pending"])
    reopened = api.ok("put", url, {"status": "pending"})
    assert reopened["completed_at"] is None and reopened["progress_percentage"] == 0
    assert api.error("put", url, {"status": "bogus"})[:2] == (422, "VALIDATION_ERROR")


def test_every_final_status_records_when_it_ended(api_for, developer, project):
    """`completed_at` is when the task reached a final status, however it ended (the pages
    show it as "Finished"); re-opening clears it."""
    api = api_for(developer)
    task = new_task(api, project)
    url = f"/api/tasks/{task['id']}"
    cancelled = api.ok("put", url, {"status": "cancelled"})
    assert cancelled["completed_at"] is not None and cancelled["progress_percentage"] == 0
    assert api.ok("put", url, {"status": "pending"})["completed_at"] is None
    failed = factories.task(project, developer, status="running", started_at=utcnow())
    db.session.add(TaskExecution(task_id=failed.id, project_id=project.id, status="failed"))
    db.session.commit()
    row = db.session.get(Task, failed.id)
    change_status(row, "failed", None)
    db.session.commit()
    shown = api.ok("get", f"/api/tasks/{failed.id}")
    assert shown["status"] == "failed" and shown["completed_at"] is not None
    assert shown["actual_duration"] is not None


@pytest.mark.parametrize("target", ["running", "queued"])
@pytest.mark.parametrize("start", ["pending", "completed", "failed", "cancelled"])
def test_running_and_queued_are_never_set_by_hand(api_for, developer, project, start, target):
    """Only an execution makes a task queued or running (issue 10, point 19): a PUT is a 409
    naming what may be set by hand instead, and nothing changes."""
    task = factories.task(project, developer, status=start)
    api = api_for(developer)
    status, code, error = api.error("put", f"/api/tasks/{task.id}", {"status": target,
                                                                      "title": "changed?"})
    assert (status, code) == (409, "TASK_INVALID_TRANSITION")
    assert "POST /api/tasks/{id}/execute" in error["message"]
    expected = {"pending": ["cancelled", "completed"], "completed": ["pending"],
                "failed": ["cancelled", "pending"], "cancelled": ["pending"]}[start]
    assert (error["details"]["from"], error["details"]["to"]) == (start, target)
    assert error["details"]["allowed"] == expected
    assert all(s in error["message"] for s in expected)
    row = db.session.get(Task, task.id, populate_existing=True)
    assert (row.status, row.title, row.started_at) == (start, task.title, None)
    history = api.ok("get", f"/api/tasks/{task.id}/history")["history"]
    assert [h["action"] for h in history] == ["created"]


def test_progress_in_the_same_request_as_status_wins(api_for, developer, project):
    api = api_for(developer)
    task = new_task(api, project)
    data = api.ok("put", f"/api/tasks/{task['id']}", {"status": "completed",
                                                      "progress_percentage": 75})
    assert (data["status"], data["progress_percentage"]) == ("completed", 75)
    assert api.error("put", f"/api/tasks/{task['id']}", {"progress_percentage": 101})[:2] == (
        422, "VALIDATION_ERROR")


def test_run_fields_cannot_change_while_queued(api_for, developer, project):
    task = factories.task(project, developer, status="queued")
    db.session.add(TaskExecution(task_id=task.id, project_id=project.id, status="queued"))
    db.session.commit()
    api = api_for(developer)
    assert api.error("put", f"/api/tasks/{task.id}", {"command": "ls"})[:2] == (
        409, "TASK_ALREADY_RUNNING")
    assert api.error("delete", f"/api/tasks/{task.id}")[:2] == (409, "TASK_ALREADY_RUNNING")
    assert api.error("put", f"/api/tasks/{task.id}", {"status": "cancelled"})[:2] == (
        409, "TASK_ALREADY_RUNNING")


def test_shell_task_cannot_lose_its_command(api_for, developer, project):
    api = api_for(developer)
    task = new_task(api, project, executor="shell", command="ls")
    assert api.error("put", f"/api/tasks/{task['id']}", {"command": None})[:2] == (
        422, "VALIDATION_REQUIRED_FIELD")


def test_soft_delete(api_for, developer, project):
    api = api_for(developer)
    task = new_task(api, project)
    data = api.ok("delete", f"/api/tasks/{task['id']}")
    assert data["message"] == "Task deleted successfully" and data["deleted_at"]
    assert api.error("get", f"/api/tasks/{task['id']}")[:2] == (404, "TASK_NOT_FOUND")
    assert api.ok("get", "/api/tasks/")["total"] == 0
    row = db.session.get(Task, uuid.UUID(task["id"]))
    assert row is not None and row.deleted_at is not None
    actions = [a for (a,) in db.session.query(AuditLog.action).filter(
        AuditLog.entity_id == row.id)]
    assert actions == ["created", "deleted"]


def test_events_are_published_after_commit(api_for, developer, project):
    pubsub = get_redis().pubsub()
    pubsub.subscribe(EVENTS_CHANNEL)
    wait_for(lambda: pubsub.get_message(timeout=0.1), 5, message="subscription")
    api = api_for(developer)
    task = new_task(api, project)
    api.ok("put", f"/api/tasks/{task['id']}", {"title": "new", "status": "cancelled"})
    api.ok("delete", f"/api/tasks/{task['id']}")
    api.error("put", f"/api/tasks/{task['id']}", {"title": "gone"})  # nothing committed
    seen: list[dict] = []

    def collect():
        message = pubsub.get_message(timeout=0.1)
        if message and message["type"] == "message":
            seen.append(json.loads(message["data"]))
        return [e["event"] for e in seen if e["scope"].get("task_id") == task["id"]] == [
            "task.created", "task.updated", "task.updated", "task.deleted"]

    wait_for(collect, 5, message="task events")
    created = next(e for e in seen if e["event"] == "task.created")
    assert created["data"]["title"] == "A task" and created["scope"]["project_id"] == str(
        project.id)
    pubsub.close()
