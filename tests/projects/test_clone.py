"""Cloning: settings and tasks copied on request, tasks reset, dependencies remapped."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models.task import TaskDependency
from app.services import workspace
from tests import factories


@pytest.fixture
def source(ctx, developer):
    mate = factories.user()
    project = factories.project(developer, name="Source", description="orig",
                                settings={"theme": "dark", "members": [str(mate.id)]},
                                resource_limits={"max_tasks": 20, "max_concurrent_tasks": 3})
    a = factories.task(project, developer, title="A", tags=["x", "y"], priority=4,
                       estimated_duration="00:30:00", metadata={"k": "v"},
                       executor="shell", command="make", working_directory="src",
                       assigned_to=mate.id)
    b = factories.task(project, developer, title="B", status="completed", actual_duration=60,
                       progress_percentage=100)
    c = factories.task(project, developer, title="C", status="failed")
    gone = factories.task(project, developer, title="deleted")
    return {"project": project, "mate": mate, "A": a, "B": b, "C": c, "gone": gone}


def test_clone_with_tasks_remaps_dependencies(api_for, developer, source):
    api = api_for(developer)
    api.ok("post", f"/api/tasks/{source['A'].id}/dependencies",
           {"depends_on_task_id": str(source["B"].id)}, expect=201)
    api.ok("post", f"/api/tasks/{source['C'].id}/dependencies",
           {"depends_on_task_id": str(source["A"].id)}, expect=201)
    api.ok("delete", f"/api/tasks/{source['gone'].id}")
    clone = api.ok("post", f"/api/projects/{source['project'].id}/clone",
                   {"name": "Copy", "include_tasks": True, "include_settings": True}, expect=201)
    assert clone["name"] == "Copy" and clone["id"] != str(source["project"].id)
    assert clone["created_by"] == str(developer.id) and clone["status"] == "active"
    assert clone["settings"] == {"theme": "dark", "members": [str(source["mate"].id)]}
    assert clone["resource_limits"]["max_tasks"] == 20
    assert clone["statistics"]["total_tasks"] == 3 and clone["statistics"]["pending_tasks"] == 3
    assert workspace.project_dir(clone["id"]).is_dir()

    items = api.ok("get", f"/api/projects/{clone['id']}/tasks")["items"]
    copies = {t["title"]: api.ok("get", f"/api/tasks/{t['id']}") for t in items}
    assert set(copies) == {"A", "B", "C"}
    a = copies["A"]
    assert (a["tags"], a["priority"], a["estimated_duration"], a["metadata"]) == (
        ["x", "y"], 4, "00:30:00", {"k": "v"})
    assert (a["executor"], a["command"], a["working_directory"]) == ("shell", "make", "src")
    assert a["assigned_to"] == str(source["mate"].id)
    b = copies["B"]
    assert (b["status"], b["progress_percentage"], b["actual_duration"], b["completed_at"]) == (
        "pending", 0, None, None)
    # A -> B and C -> A, between the copies, never back to the originals.
    assert [d["depends_on_task_id"] for d in a["dependencies"]] == [b["id"]]
    assert [d["depends_on_task_id"] for d in copies["C"]["dependencies"]] == [a["id"]]
    assert db.session.query(TaskDependency).count() == 4
    # The source is untouched.
    assert api.ok("get", f"/api/tasks/{source['B'].id}")["status"] == "completed"


def test_clone_without_tasks_or_settings(api_for, developer, source, app):
    api = api_for(developer)
    clone = api.ok("post", f"/api/projects/{source['project'].id}/clone",
                   {"include_settings": False}, expect=201)
    assert clone["name"] == "Source (copy)" and clone["description"] == "orig"
    assert clone["settings"] == {}
    assert clone["resource_limits"]["max_tasks"] == app.config["MAX_TASKS_PER_PROJECT"]
    assert clone["statistics"]["total_tasks"] == 0


def test_assignee_without_access_to_the_clone_is_dropped(api_for, developer, source):
    clone = api_for(developer).ok("post", f"/api/projects/{source['project'].id}/clone",
                                  {"include_tasks": True, "include_settings": False},
                                  expect=201)
    items = api_for(developer).ok("get", f"/api/projects/{clone['id']}/tasks")["items"]
    assert {t["title"]: t["assigned_to"] for t in items}["A"] is None


def test_clone_must_fit_the_limit(api_for, developer):
    project = factories.project(developer)
    for _ in range(3):
        factories.task(project, developer)
    api = api_for(developer)
    api.ok("put", f"/api/projects/{project.id}", {"resource_limits": {"max_tasks": 2}})
    status, code, _ = api.error("post", f"/api/projects/{project.id}/clone",
                                {"include_tasks": True})
    assert (status, code) == (409, "PROJECT_LIMIT_EXCEEDED")
    assert api.ok("get", "/api/projects/")["total"] == 1


def test_member_may_clone_and_owns_the_clone(api_for, source):
    mate_api = api_for(source["mate"])
    clone = mate_api.ok("post", f"/api/projects/{source['project'].id}/clone", {}, expect=201)
    assert clone["created_by"] == str(source["mate"].id)
    assert clone["settings"]["members"] == []
