"""Task dependencies (CONTRACT §3): add, remove, same project only, cycle detection."""

from __future__ import annotations

import uuid

import pytest

from app.extensions import db
from app.models.task import TaskDependency
from tests import factories


@pytest.fixture
def chain(ctx, api_for, developer):
    project = factories.project(developer)
    tasks = {name: factories.task(project, developer, title=name) for name in "ABCD"}
    return {"api": api_for(developer), "project": project,
            **{name: str(t.id) for name, t in tasks.items()}}


def depend(chain, task, on, expect=201):
    return chain["api"].ok("post", f"/api/tasks/{chain[task]}/dependencies",
                           {"depends_on_task_id": chain[on]}, expect=expect)


def test_add_and_remove(chain):
    dep = depend(chain, "A", "B")
    assert dep["task_id"] == chain["A"] and dep["depends_on_task_id"] == chain["B"]
    assert dep["dependency_type"] == "blocks" and dep["task"]["title"] == "B"
    detail = chain["api"].ok("get", f"/api/tasks/{chain['A']}")
    assert [d["id"] for d in detail["dependencies"]] == [dep["id"]]
    chain["api"].ok("delete", f"/api/tasks/{chain['A']}/dependencies/{dep['id']}")
    assert chain["api"].ok("get", f"/api/tasks/{chain['A']}")["dependencies"] == []
    status, code, _ = chain["api"].error(
        "delete", f"/api/tasks/{chain['A']}/dependencies/{dep['id']}")
    assert (status, code) == (404, "RESOURCE_NOT_FOUND")
    actions = [h["action"] for h in chain["api"].ok(
        "get", f"/api/tasks/{chain['A']}/history")["history"]]
    assert actions == ["created", "dependency_added", "dependency_removed"]


def test_cycles_are_refused_and_named(chain):
    depend(chain, "A", "B")
    depend(chain, "B", "C")
    depend(chain, "C", "D")
    status, code, error = chain["api"].error(
        "post", f"/api/tasks/{chain['D']}/dependencies", {"depends_on_task_id": chain["A"]})
    assert (status, code) == (409, "TASK_DEPENDENCY_CYCLE")
    assert error["details"]["cycle"] == [chain[n] for n in "DABCD"]
    assert error["details"]["cycle_titles"] == list("DABCD")
    assert "'D' -> 'A' -> 'B' -> 'C' -> 'D'" in error["message"]
    # Two-task cycle, and a diamond (not a cycle) is fine.
    assert chain["api"].error("post", f"/api/tasks/{chain['B']}/dependencies",
                              {"depends_on_task_id": chain["A"]})[:2] == (
        409, "TASK_DEPENDENCY_CYCLE")
    depend(chain, "A", "D")
    assert db.session.query(TaskDependency).count() == 4


def test_bad_dependencies(chain, developer):
    api = chain["api"]
    url = f"/api/tasks/{chain['A']}/dependencies"
    assert api.error("post", url, {"depends_on_task_id": chain["A"]})[:2] == (
        422, "VALIDATION_ERROR")
    other = factories.task(factories.project(developer), developer)
    status, code, error = api.error("post", url, {"depends_on_task_id": str(other.id)})
    assert (status, code) == (422, "VALIDATION_ERROR") and "same project" in error["message"]
    assert api.error("post", url, {"depends_on_task_id": str(uuid.uuid4())})[:2] == (
        404, "TASK_NOT_FOUND")
    assert api.error("post", url, {"depends_on_task_id": "x"})[:2] == (
        422, "VALIDATION_INVALID_FORMAT")
    assert api.error("post", url, {"depends_on_task_id": chain["B"],
                                   "dependency_type": "relates"})[0] == 422
    depend(chain, "A", "B")
    assert api.error("post", url, {"depends_on_task_id": chain["B"]})[:2] == (
        409, "RESOURCE_ALREADY_EXISTS")


def test_foreign_task_is_denied(chain, api_for):
    outsider = factories.user()
    status, code, _ = api_for(outsider).error(
        "post", f"/api/tasks/{chain['A']}/dependencies", {"depends_on_task_id": chain["B"]})
    assert (status, code) == (403, "PROJECT_ACCESS_DENIED")


def test_deleting_a_task_drops_its_edges(chain):
    depend(chain, "A", "B")
    depend(chain, "B", "C")
    chain["api"].ok("delete", f"/api/tasks/{chain['B']}")
    assert chain["api"].ok("get", f"/api/tasks/{chain['A']}")["dependencies"] == []
    assert db.session.query(TaskDependency).count() == 0
    history = chain["api"].ok("get", f"/api/tasks/{chain['A']}/history")["history"]
    assert history[-1]["action"] == "dependency_removed"
    assert history[-1]["details"]["reason"] == "task deleted"
