"""Projects through the API: create, list, details, update, archive, delete."""

from __future__ import annotations

import json
import uuid

import pytest

from app.extensions import db, get_redis
from app.models.audit import AuditLog
from app.models.execution import TaskExecution
from app.models.project import Project, ProjectMember
from app.models.task import Task
from app.services import workspace
from app.services.events import EVENTS_CHANNEL
from tests import factories
from tests.live import wait_for


def test_create_with_defaults_and_workspace(api_for, developer, app):
    data = api_for(developer).ok("post", "/api/projects/", {
        "name": "E-commerce Platform", "description": "Full-stack",
        "settings": {"theme": "dark", "notifications": True}}, expect=201)
    assert data["status"] == "active" and data["created_by"] == str(developer.id)
    assert data["settings"] == {"theme": "dark", "notifications": True}
    assert data["resource_limits"] == {"max_tasks": app.config["MAX_TASKS_PER_PROJECT"],
                                       "max_concurrent_tasks": app.config[
                                           "MAX_CONCURRENT_TASKS"],
                                       "storage_limit": "1GB"}
    assert data["statistics"] == {"total_tasks": 0, "completed_tasks": 0, "pending_tasks": 0,
                                  "queued_tasks": 0, "running_tasks": 0, "failed_tasks": 0,
                                  "cancelled_tasks": 0}
    assert workspace.project_dir(data["id"]).is_dir()
    entry = db.session.query(AuditLog).filter_by(entity_id=uuid.UUID(data["id"])).one()
    assert entry.action == "created" and entry.user_id == developer.id


@pytest.mark.parametrize("body, field, code", [
    ({}, "name", "VALIDATION_REQUIRED_FIELD"),
    ({"name": ""}, "name", "VALIDATION_VALUE_TOO_SHORT"),
    ({"name": "x" * 201}, "name", "VALIDATION_VALUE_TOO_LONG"),
    ({"name": "p", "resource_limits": {"max_concurrent_tasks": 0}},
     "resource_limits.max_concurrent_tasks", "VALIDATION_ERROR"),
    ({"name": "p", "resource_limits": {"max_tasks": "many"}}, "resource_limits.max_tasks",
     "VALIDATION_ERROR"),
    ({"name": "p", "resource_limits": {"storage_limit": "lots"}},
     "resource_limits.storage_limit", "VALIDATION_INVALID_FORMAT"),
    ({"name": "p", "resource_limits": {"cpu": 3}}, "resource_limits.cpu", "VALIDATION_ERROR"),
    ({"name": "p", "settings": {"members": [str(uuid.uuid4())]}}, "settings.members",
     "VALIDATION_ERROR"),
    ({"name": "p", "settings": {"members": "me"}}, "settings.members", "VALIDATION_ERROR"),
    ({"name": "p", "settings": {"blob": "x" * 11000}}, "settings", "VALIDATION_VALUE_TOO_LONG"),
    ({"name": "p", "status": "archived"}, "status", "VALIDATION_ERROR"),
])
def test_create_validation(api_for, developer, body, field, code):
    status, got, error = api_for(developer).error("post", "/api/projects/", body)
    assert (status, got, error["details"]["field"]) == (422, code, field), error
    assert db.session.query(Project).count() == 0


def test_limits_and_members_are_normalized(api_for, developer):
    mate = factories.user()
    data = api_for(developer).ok("post", "/api/projects/", {
        "name": "p", "settings": {"members": [str(mate.id), str(mate.id), str(developer.id)]},
        "resource_limits": {"max_tasks": 5, "storage_limit": "500 mb"}}, expect=201)
    assert data["settings"]["members"] == [str(mate.id)]
    assert data["resource_limits"]["storage_limit"] == "500MB"
    assert data["resource_limits"]["max_tasks"] == 5
    members = db.session.query(ProjectMember.user_id).filter_by(
        project_id=uuid.UUID(data["id"])).all()
    assert members == [(mate.id,)]


def test_list_filters_sort_search_and_pagination(api_for, developer):
    api = api_for(developer)
    other = factories.user()
    names = ["Alpha web", "Beta api", "Gamma web shop", "Delta"]
    made = {n: factories.project(developer, name=n, description=f"{n} description")
            for n in names}
    factories.project(other, name="Alpha web (not mine)")
    factories.task(made["Beta api"], developer, status="completed")
    api.ok("put", f"/api/projects/{made['Delta'].id}", {"status": "archived"})

    def names_of(**params):
        return [p["name"] for p in api.ok("get", "/api/projects/", **params)["items"]]

    assert names_of(sort="name", order="asc") == ["Alpha web", "Beta api", "Delta",
                                                  "Gamma web shop"]
    assert names_of(status="archived") == ["Delta"]
    assert names_of(status="active", sort="name", order="asc") == [
        "Alpha web", "Beta api", "Gamma web shop"]
    assert names_of(search="WEB", sort="name", order="asc") == ["Alpha web", "Gamma web shop"]
    assert names_of(search="web shop") == ["Gamma web shop"]
    assert names_of(created_by=str(other.id)) == []
    page = api.ok("get", "/api/projects/", sort="name", order="asc", page=2, page_size=3)
    assert [p["name"] for p in page["items"]] == ["Gamma web shop"]
    assert (page["total"], page["pages"], page["has_previous"]) == (4, 2, True)
    beta = next(p for p in api.ok("get", "/api/projects/")["items"] if p["name"] == "Beta api")
    assert beta["statistics"]["completed_tasks"] == 1
    for bad in ({"sort": "owner"}, {"status": "gone"}, {"page_size": 101}):
        assert api.error("get", "/api/projects/", **bad)[0] == 422


def test_details_statistics_and_recent_activity(api_for, developer):
    api = api_for(developer)
    project = factories.project(developer, name="Stats")
    for status, duration in [("completed", 3600), ("completed", 7200), ("failed", None),
                             ("running", None), ("pending", None)]:
        factories.task(project, developer, status=status, actual_duration=duration)
    done = factories.task(project, developer, title="Setup user authentication")
    api.ok("put", f"/api/tasks/{done.id}", {"status": "completed"})
    data = api.ok("get", f"/api/projects/{project.id}")
    stats = data["statistics"]
    assert (stats["total_tasks"], stats["completed_tasks"], stats["failed_tasks"],
            stats["running_tasks"], stats["pending_tasks"]) == (6, 3, 1, 1, 1)
    assert stats["completion_rate"] == 0.5
    # 3600, 7200 and the last one completed by hand without a start (no duration).
    assert stats["average_task_duration"] == "01:30:00"
    latest = data["recent_activity"][0]
    assert latest["action"] == "task_completed"
    assert latest["task_title"] == "Setup user authentication"
    assert latest["user_name"] == developer.username
    assert data["recent_activity"][-1]["action"] in ("task_created", "project_created")


def test_unknown_project_is_404(api_for, developer):
    api = api_for(developer)
    for pid in (uuid.uuid4(), "nope"):
        for method, url in [("get", f"/api/projects/{pid}"), ("delete", f"/api/projects/{pid}"),
                            ("get", f"/api/projects/{pid}/tasks"),
                            ("get", f"/api/projects/{pid}/analytics")]:
            assert api.error(method, url)[:2] == (404, "PROJECT_NOT_FOUND"), url


def test_update_merges_settings_and_limits_and_audits(api_for, developer):
    api = api_for(developer)
    project = factories.project(developer, settings={"theme": "dark", "auto_assign": False},
                                resource_limits={"max_tasks": 50})
    data = api.ok("put", f"/api/projects/{project.id}", {
        "name": "Renamed", "settings": {"theme": "light", "notifications": False},
        "resource_limits": {"max_concurrent_tasks": 2}})
    assert data["name"] == "Renamed"
    assert data["settings"] == {"theme": "light", "auto_assign": False, "notifications": False}
    assert data["resource_limits"]["max_tasks"] == 50
    assert data["resource_limits"]["max_concurrent_tasks"] == 2
    fields = {e.field for e in db.session.query(AuditLog).filter_by(
        entity_id=project.id, action="updated")}
    assert fields == {"name", "settings", "resource_limits"}
    assert api.error("put", f"/api/projects/{project.id}", {"name": ""})[0] == 422
    assert api.error("put", f"/api/projects/{project.id}", {"status": "paused"})[0] == 422


def test_archived_is_read_only_until_unarchived(api_for, developer):
    api = api_for(developer)
    project = factories.project(developer)
    task = factories.task(project, developer)
    api.ok("put", f"/api/projects/{project.id}", {"status": "archived"})
    for method, url, body in [
        ("put", f"/api/projects/{project.id}", {"name": "x"}),
        ("post", "/api/tasks/", {"project_id": str(project.id), "title": "x"}),
        ("put", f"/api/tasks/{task.id}", {"title": "x"}),
        ("delete", f"/api/tasks/{task.id}", None),
        ("post", f"/api/tasks/{task.id}/dependencies", {"depends_on_task_id": str(task.id)}),
    ]:
        assert api.error(method, url, body)[:2] == (409, "PROJECT_ARCHIVED"), url
    assert api.ok("get", f"/api/tasks/{task.id}")["title"] == task.title
    data = api.ok("put", f"/api/projects/{project.id}", {"status": "active", "name": "Back"})
    assert (data["status"], data["name"]) == ("active", "Back")
    api.ok("put", f"/api/tasks/{task.id}", {"title": "writable again"})


def test_soft_delete_takes_the_tasks_along(api_for, developer):
    api = api_for(developer)
    project = factories.project(developer)
    tasks = [factories.task(project, developer) for _ in range(3)]
    data = api.ok("delete", f"/api/projects/{project.id}")
    assert data["tasks_deleted"] == 3 and data["deleted_at"]
    assert api.error("get", f"/api/projects/{project.id}")[:2] == (404, "PROJECT_NOT_FOUND")
    assert api.error("put", f"/api/projects/{project.id}", {"name": "x"})[0] == 404
    assert api.error("get", f"/api/tasks/{tasks[0].id}")[:2] == (404, "TASK_NOT_FOUND")
    assert api.error("post", "/api/tasks/", {"project_id": str(project.id),
                                             "title": "x"})[0] == 404
    assert api.ok("get", "/api/projects/")["total"] == 0
    assert api.ok("get", "/api/tasks/")["total"] == 0
    db.session.expire_all()
    assert db.session.get(Project, project.id).deleted_at is not None
    assert all(db.session.get(Task, t.id).deleted_at is not None for t in tasks)
    deleted = db.session.query(AuditLog).filter_by(action="deleted").count()
    assert deleted == 4


def test_delete_is_refused_while_something_runs(api_for, developer):
    project = factories.project(developer)
    task = factories.task(project, developer, status="running")
    db.session.add(TaskExecution(task_id=task.id, project_id=project.id, status="running"))
    db.session.commit()
    status, code, _ = api_for(developer).error("delete", f"/api/projects/{project.id}")
    assert (status, code) == (409, "RESOURCE_IN_USE")


def test_project_events(api_for, developer):
    pubsub = get_redis().pubsub()
    pubsub.subscribe(EVENTS_CHANNEL)
    wait_for(lambda: pubsub.get_message(timeout=0.1), 5, message="subscription")
    api = api_for(developer)
    data = api.ok("post", "/api/projects/", {"name": "evented"}, expect=201)
    api.ok("put", f"/api/projects/{data['id']}", {"description": "changed"})
    api.ok("delete", f"/api/projects/{data['id']}")
    seen: list[str] = []

    def collect():
        message = pubsub.get_message(timeout=0.1)
        if message and message["type"] == "message":
            event = json.loads(message["data"])
            if event["scope"].get("project_id") == data["id"]:
                seen.append(event["event"])
        return seen == ["project.created", "project.updated", "project.deleted"]

    wait_for(collect, 5, message="project events")
    pubsub.close()
