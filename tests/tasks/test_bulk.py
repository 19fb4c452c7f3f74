"""POST /api/tasks/bulk: six operations, each id succeeding or failing on its own."""

from __future__ import annotations

import uuid

import pytest

from app.extensions import db
from app.models.audit import AuditLog
from app.models.project import Project
from app.models.task import Task
from tests import factories


@pytest.fixture
def setup(ctx, api_for, developer):
    mine = factories.project(developer)
    other = factories.user()
    foreign = factories.task(factories.project(other), other, title="foreign")
    archived = factories.project(developer)
    frozen = factories.task(archived, developer, title="archived")
    db.session.get(Project, archived.id).status = "archived"
    db.session.commit()
    tasks = [factories.task(mine, developer, title=f"t{i}", tags=["keep"]) for i in range(3)]
    return {"api": api_for(developer), "mine": mine, "tasks": [str(t.id) for t in tasks],
            "foreign": str(foreign.id), "archived": str(frozen.id)}


def bulk(setup, operation, ids, data=None, expect=200):
    return setup["api"].ok("post", "/api/tasks/bulk", {"operation": operation, "task_ids": ids,
                                                       "data": data or {}}, expect=expect)


def row(task_id) -> Task:
    db.session.expire_all()
    return db.session.get(Task, uuid.UUID(task_id))


def test_partial_failure_reports_each_id(setup):
    deleted = setup["tasks"][2]
    setup["api"].ok("delete", f"/api/tasks/{deleted}")
    ids = [setup["tasks"][0], setup["foreign"], setup["archived"], str(uuid.uuid4()), "junk",
           deleted, setup["tasks"][1]]
    result = bulk(setup, "set_priority", ids, {"priority": 7})
    assert result["operation"] == "set_priority"
    assert result["successful"] == [setup["tasks"][0], setup["tasks"][1]]
    assert result["affected_count"] == 2
    reasons = {e["task_id"]: e["code"] for e in result["errors"]}
    assert reasons == {setup["foreign"]: "PROJECT_ACCESS_DENIED",
                       setup["archived"]: "PROJECT_ARCHIVED",
                       ids[3]: "TASK_NOT_FOUND", "junk": "VALIDATION_INVALID_FORMAT",
                       deleted: "TASK_NOT_FOUND"}
    assert set(result["failed"]) == set(reasons)
    assert all(e["message"] for e in result["errors"])
    assert row(setup["tasks"][0]).priority == 7 and row(setup["foreign"]).priority == 0
    assert row(setup["archived"]).priority == 0


def test_update_status_checks_each_transition(setup):
    first, second, _ = setup["tasks"]
    setup["api"].ok("put", f"/api/tasks/{second}", {"status": "completed"})
    result = bulk(setup, "update_status", [first, second], {"status": "cancelled",
                                                            "progress_percentage": 10})
    assert result["successful"] == [first]
    assert result["errors"] == [{
        "task_id": second, "code": "TASK_INVALID_TRANSITION",
        "message": "A completed task cannot become cancelled; by hand it may become: pending"}]
    assert (row(first).status, row(first).progress_percentage) == ("cancelled", 10)
    history = db.session.query(AuditLog).filter(AuditLog.entity_id == uuid.UUID(first),
                                                AuditLog.action == "status_changed").count()
    assert history == 1


@pytest.mark.parametrize("target", ["running", "queued"])
def test_update_status_never_sets_running_or_queued(setup, target):
    """Only executions set queued/running (issue 10, point 19): the whole request is refused
    (422 naming the statuses that can be set by hand) and nothing is written."""
    ids = setup["tasks"]
    status, code, error = setup["api"].error("post", "/api/tasks/bulk", {
        "operation": "update_status", "task_ids": ids, "data": {"status": target}})
    assert (status, code, error["details"]["field"]) == (422, "VALIDATION_ERROR", "data.status")
    assert "pending, completed, failed, cancelled" in error["details"]["issue"]
    assert {row(i).status for i in ids} == {"pending"}
    assert {row(i).started_at for i in ids} == {None}


def test_assign_add_and_remove_tags_and_delete(setup, developer):
    ids = setup["tasks"]
    assert bulk(setup, "assign", ids, {"assigned_to": str(developer.id)})["affected_count"] == 3
    assert {row(i).assigned_to for i in ids} == {developer.id}
    assert bulk(setup, "assign", ids[:1], {"assigned_to": None})["successful"] == ids[:1]
    assert row(ids[0]).assigned_to is None
    assert bulk(setup, "add_tags", ids, {"tags": ["Urgent", "keep"]})["affected_count"] == 3
    assert row(ids[1]).tags == ["keep", "urgent"]
    assert bulk(setup, "remove_tags", ids[:2], {"tags": ["keep"]})["affected_count"] == 2
    assert row(ids[0]).tags == ["urgent"] and row(ids[2]).tags == ["keep", "urgent"]
    result = bulk(setup, "delete", ids)
    assert result["affected_count"] == 3
    assert all(row(i).deleted_at is not None for i in ids)
    assert setup["api"].ok("get", "/api/tasks/", project_id=str(setup["mine"].id))["total"] == 0


def test_assignee_without_access_fails_per_task(setup):
    outsider = factories.user()
    result = bulk(setup, "assign", setup["tasks"][:1], {"assigned_to": str(outsider.id)})
    assert result["failed"] == setup["tasks"][:1]
    assert result["errors"][0]["code"] == "VALIDATION_ERROR"


def test_tag_limit_is_per_task(setup):
    first = setup["tasks"][0]
    setup["api"].ok("put", f"/api/tasks/{first}", {"tags": [f"t{i}" for i in range(19)]})
    result = bulk(setup, "add_tags", setup["tasks"][:2], {"tags": ["x1", "x2"]})
    assert result["successful"] == [setup["tasks"][1]]
    assert result["errors"][0]["code"] == "VALIDATION_VALUE_TOO_LONG"


@pytest.mark.parametrize("body, field", [
    ({"operation": "explode", "task_ids": ["x"]}, "operation"),
    ({"operation": "delete", "task_ids": []}, "task_ids"),
    ({"operation": "delete", "task_ids": [str(uuid.uuid4()) for _ in range(501)]}, "task_ids"),
    ({"operation": "update_status", "task_ids": ["x"], "data": {}}, "data.status"),
    ({"operation": "update_status", "task_ids": ["x"], "data": {"status": "queued"}},
     "data.status"),
    ({"operation": "set_priority", "task_ids": ["x"], "data": {"priority": 99}},
     "data.priority"),
    ({"operation": "add_tags", "task_ids": ["x"], "data": {"tags": []}}, "data.tags"),
    ({"operation": "add_tags", "task_ids": ["x"], "data": {"tags": ["bad tag"]}}, "data.tags"),
    ({"operation": "assign", "task_ids": ["x"], "data": {"assigned_to": str(uuid.uuid4())}},
     "data.assigned_to"),
    ({"operation": "delete", "task_ids": ["x"], "data": {"status": "x"}}, "data.status"),
])
def test_bad_requests_are_422_and_change_nothing(setup, body, field):
    status, code, error = setup["api"].error("post", "/api/tasks/bulk", body)
    assert status == 422 and code.startswith("VALIDATION_"), error
    assert error["details"]["field"] == field
    assert all(row(i).deleted_at is None for i in setup["tasks"])


def test_exactly_500_ids_is_accepted(setup):
    ids = [setup["tasks"][0]] + [str(uuid.uuid4()) for _ in range(499)]
    result = bulk(setup, "set_priority", ids, {"priority": 1})
    assert result["affected_count"] == 1 and len(result["failed"]) == 499


def test_viewer_cannot_bulk(api_for, viewer, setup):
    status, code, _ = api_for(viewer).error("post", "/api/tasks/bulk", {
        "operation": "delete", "task_ids": setup["tasks"]})
    assert (status, code) == (403, "AUTH_INSUFFICIENT_PERMISSIONS")
