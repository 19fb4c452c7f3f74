"""Bulk task operations from the board (select mode) through the test client, and the manual
status of the task edit form.

What a user checks: the select-mode controls only for writers, each of the six operations
stored (with history), partial failures reported with the task's title and the service's reason,
refusals of the whole request shown in place with nothing written, viewers refused (403).
"""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models.audit import AuditLog
from app.models.task import Task
from app.models.user import User
from tests import factories
from tests.pages import login_client

page_client = login_client.page_client  # the fixture shared by the page tests


@pytest.fixture
def board(app, developer, viewer, make_user):
    """A developer's project shared with a viewer and another developer, with three tasks:
    two pending and one failed (a failed task may not become completed)."""
    mate = make_user(role="developer")
    with app.app_context():
        project = factories.project(developer, name="Bulk home",
                                    settings={"members": [str(viewer.id), str(mate.id)]})
        owner = db.session.get(User, developer.id)
        tasks = [factories.task(project, owner, title="First & <b>bold</b>", tags=["old"]),
                 factories.task(project, owner, title="Second", tags=["old", "keep"]),
                 factories.task(project, owner, title="Broken", status="failed")]
    return project, tasks, mate


def _tasks(app, ids) -> dict[uuid.UUID, Task]:
    with app.app_context():
        found = {}
        for task_id in ids:
            task = db.session.get(Task, task_id)
            _ = task.tags
            db.session.expunge(task)
            found[task_id] = task
        return found


def _snapshot(app) -> tuple:
    """Everything a refused request must leave as it was."""
    with app.app_context():
        rows = db.session.execute(select(Task.id, Task.status, Task.priority, Task.assigned_to,
                                         Task.deleted_at).order_by(Task.id)).all()
        tags = {t.id: tuple(t.tags) for t in db.session.scalars(select(Task))}
        return (rows, tags, db.session.scalar(select(func.count()).select_from(AuditLog)))


def _post(client, project, operation, ids, **fields):
    project_id = getattr(project, "id", project)
    return client.hx_post(f"/projects/{project_id}/bulk",
                          {"operation": operation, "task_ids": [str(i) for i in ids], **fields})


# ---------------------------------------------------------------- the board's controls

def test_select_mode_controls_for_writers_only(app, page_client, developer, viewer, board):
    project, tasks, _mate = board
    page = page_client(developer).get(f"/projects/{project.id}/board").data.decode()
    assert 'id="bulk-form"' in page and 'id="bulk-toggle"' in page
    assert f'action="/projects/{project.id}/bulk"' in page
    # the cards' checkboxes are added by static/js/bulk.js in select mode, from these
    assert f'id="task-{tasks[0].id}-card" class="task-card" data-status="pending" ' \
           f'data-task-id="{tasks[0].id}"' in page
    assert "First &amp; &lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold" not in page
    assert 'class="task-select"' not in page                 # nothing extra per card
    assert 'data-select-all="board-col-pending-cards"' in page
    for op in ("update_status", "assign", "add_tags", "remove_tags", "set_priority"):
        assert f'name="operation" value="{op}"' in page
    assert 'id="bulk-delete"' in page and "hx-confirm" in page
    offered = page.split('id="bulk-status"')[1].split("</select>")[0]
    assert '<option value="queued">' not in offered and '<option value="running">' not in offered

    seen = page_client(viewer).get(f"/projects/{project.id}/board").data.decode()
    assert f'id="task-{tasks[0].id}-card"' in seen
    for marker in ('id="bulk-form"', 'id="bulk-toggle"', 'class="task-select"',
                   "data-select-all"):
        assert marker not in seen


def test_no_select_mode_on_an_archived_project(app, page_client, developer):
    with app.app_context():
        project = factories.project(developer, status="archived")
    page = page_client(developer).get(f"/projects/{project.id}/board").data.decode()
    assert 'id="bulk-form"' not in page and "data-select-all" not in page


# ---------------------------------------------------------------- operations

def test_update_status_reports_each_failure_with_title_and_reason(app, page_client, developer,
                                                                  board):
    project, (first, second, broken), _mate = board
    resp = _post(page_client(developer), project, "update_status", [first.id, broken.id],
                 status="completed")
    assert resp.status_code == 200
    body = resp.data.decode()
    assert "<html" not in body and 'id="bulk-result"' in body
    assert "Set status (completed):" in body and "1 of 2 tasks done, 1 failed." in body
    failure = re.search(r'<li data-task-id="([^"]+)"><strong>([^<]+)</strong>: ([^<]+)</li>',
                        body)
    assert failure.groups() == (str(broken.id), "Broken", "A failed task cannot become "
                                "completed; by hand it may become: cancelled, pending")
    assert f'data-succeeded="{first.id}"' in body
    stored = _tasks(app, [first.id, second.id, broken.id])
    assert (stored[first.id].status, stored[first.id].progress_percentage) == ("completed", 100)
    assert stored[second.id].status == "pending" and stored[broken.id].status == "failed"
    with app.app_context():
        history = db.session.scalars(select(AuditLog).where(
            AuditLog.entity_id == first.id, AuditLog.field == "status")).all()
        assert [(h.old_value, h.new_value, h.user_id) for h in history] == [
            ("pending", "completed", developer.id)]
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.entity_id == broken.id, AuditLog.field == "status")) == 0


def test_assign_tags_priority_and_delete(app, page_client, developer, board):
    project, (first, second, broken), mate = board
    client = page_client(developer)
    ids = [first.id, second.id]

    assert f"Assign ({mate.display_name}): 2 of 2 tasks done." in _post(
        client, project, "assign", ids, assigned_to=str(mate.id)).data.decode()
    assert {t.assigned_to for t in _tasks(app, ids).values()} == {mate.id}
    assert "Assign (nobody): 2 of 2" in _post(client, project, "assign", ids,
                                              assigned_to="").data.decode()
    assert {t.assigned_to for t in _tasks(app, ids).values()} == {None}   # Nobody: unassigned

    added = _post(client, project, "add_tags", ids, tags="urgent, api").data.decode()
    assert "Add tags (urgent, api): 2 of 2 tasks done." in added
    assert _tasks(app, ids)[second.id].tags == ["old", "keep", "urgent", "api"]
    removed = _post(client, project, "remove_tags", ids, tags="old urgent").data.decode()
    assert "2 of 2" in removed
    stored = _tasks(app, ids)
    assert (stored[first.id].tags, stored[second.id].tags) == (["api"], ["keep", "api"])

    assert "Set priority (7): 2 of 2" in _post(client, project, "set_priority", ids,
                                               priority="7").data.decode()
    assert {t.priority for t in _tasks(app, ids).values()} == {7}

    deleted = _post(client, project, "delete", [first.id, broken.id], confirm="yes")
    assert "Delete: 2 of 2 tasks done." in deleted.data.decode()
    stored = _tasks(app, [first.id, second.id, broken.id])
    assert stored[first.id].deleted_at and stored[broken.id].deleted_at
    assert stored[second.id].deleted_at is None
    board_page = client.get(f"/projects/{project.id}/board").data.decode()
    assert f'id="task-{first.id}-card"' not in board_page
    assert f'id="task-{second.id}-card"' in board_page


def test_assignee_without_access_fails_per_task(app, page_client, developer, make_user, board):
    project, (first, _second, _broken), _mate = board
    stranger = make_user(role="developer")
    body = _post(page_client(developer), project, "assign", [first.id],
                 assigned_to=str(stranger.id)).data.decode()
    assert "0 of 1 task done, 1 failed." in body
    assert "The assignee has no access to this task&#39;s project" in body
    assert _tasks(app, [first.id])[first.id].assigned_to is None


# ---------------------------------------------------------------- refusals

@pytest.mark.parametrize(("operation", "fields", "message"), [
    ("update_status", {"status": "queued"}, "Status: one of pending, completed, failed"),
    ("update_status", {"status": "running"}, "Status: one of pending, completed, failed"),
    ("update_status", {"status": "done"}, "Status: one of pending, completed"),
    ("set_priority", {"priority": "11"}, "Priority: must be between 0 and 10"),
    ("set_priority", {"priority": ""}, "Priority: Field is required"),
    ("set_priority", {"priority": "high"}, "Priority: must be a whole number"),
    ("add_tags", {"tags": " "}, "Tags: at least one tag"),
    ("assign", {"assigned_to": "nobody"}, "Assignee: must be a UUID"),
    ("delete", {}, "Delete: deleting needs confirmation"),
    ("explode", {}, "Operation: one of update_status, assign"),
])
def test_a_bad_request_is_refused_whole_and_nothing_is_written(
        app, page_client, developer, board, operation, fields, message):
    project, tasks, _mate = board
    before = _snapshot(app)
    resp = _post(page_client(developer), project, operation, [t.id for t in tasks], **fields)
    assert resp.status_code == 422
    body = resp.data.decode()
    assert 'id="bulk-error"' in body and message in body, body
    assert "data-succeeded" not in body
    assert _snapshot(app) == before


def test_nothing_selected(app, page_client, developer, board):
    project, _listed, _mate = board
    before = _snapshot(app)
    resp = _post(page_client(developer), project, "set_priority", [], priority="3")
    assert resp.status_code == 422 and "Select at least one task first." in resp.data.decode()
    assert _snapshot(app) == before


def test_viewer_is_refused_and_nothing_is_written(app, page_client, viewer, board):
    project, tasks, _mate = board
    before = _snapshot(app)
    client = page_client(viewer)
    for operation, fields in (("update_status", {"status": "completed"}),
                              ("delete", {"confirm": "yes"})):
        resp = _post(client, project, operation, [t.id for t in tasks], **fields)
        assert resp.status_code == 403
        assert b"permission" in resp.data.lower()
    assert _snapshot(app) == before


def test_strangers_and_archived_projects_are_refused(app, page_client, developer, make_user,
                                                    board):
    project, tasks, _mate = board
    stranger = page_client(make_user(role="developer"))
    owner = page_client(developer)
    before = _snapshot(app)  # (creating and logging in users writes audit entries)
    assert _post(stranger, project, "set_priority", [tasks[0].id],
                 priority="1").status_code == 403
    assert _post(stranger, uuid.uuid4(), "set_priority", [tasks[0].id],
                 priority="1").status_code == 404
    assert _snapshot(app) == before
    with app.app_context():
        db.session.get(type(project), project.id).status = "archived"
        db.session.commit()
    before = _snapshot(app)
    archived = _post(owner, project, "set_priority", [tasks[0].id],
                     priority="1")
    assert archived.status_code == 422
    assert "is archived and read-only" in archived.data.decode()
    assert _snapshot(app) == before


def test_without_csrf_nothing_is_written(app, page_client, developer, board):
    project, tasks, _mate = board
    before = _snapshot(app)
    client = page_client(developer)
    resp = client.post(f"/projects/{project.id}/bulk", data={
        "operation": "set_priority", "priority": "9", "task_ids": [str(tasks[0].id)]})
    assert resp.status_code in (302, 401, 403)
    assert _snapshot(app) == before


# ---------------------------------------------------------------- a filtered board

def test_a_filtered_board_says_so(page_client, developer, board):
    project, _listed, _mate = board
    client = page_client(developer)
    plain = client.get(f"/projects/{project.id}/board").data.decode()
    assert 'data-filtered="0"' in plain
    assert f'hx-ext="ws,board-filter" ws-connect="/ws/pages?topics=project:{project.id}"' in plain
    for query in ("tag=old", f"assignee={developer.id}", "search=second"):
        fragment = client.hx_get(f"/projects/{project.id}/board?{query}").data.decode()
        assert fragment.startswith('<div id="board"') and 'data-filtered="1"' in fragment


# ---------------------------------------------------------------- manual status (edit form)

def test_edit_form_offers_only_the_allowed_manual_statuses(app, page_client, developer, board):
    """Item 3 already existed (6A): the edit form's status select lists the current status and
    the manual targets `task_status.TRANSITIONS` allows; anything else posted is refused."""
    _project, (first, _second, broken), _mate = board
    client = page_client(developer)

    def offered(task):
        form = client.get(f"/tasks/{task.id}/edit").data.decode()
        select_html = form.split('id="task-status"')[1].split("</select>")[0]
        return re.findall(r'<option value="([a-z]+)"', select_html)

    assert offered(first) == ["pending", "cancelled", "completed"]  # never running/queued
    assert offered(broken) == ["failed", "cancelled", "pending"]
    refused = client.hx_post(f"/tasks/{broken.id}", {"title": "Broken", "executor": "claude",
                                                     "status": "completed", "priority": "0"})
    assert refused.status_code == 422
    error = re.search(r'id="task-status-error" role="alert">([^<]*)<', refused.data.decode())
    assert error and "allowed from failed" in error.group(1), refused.data.decode()
    assert _tasks(app, [broken.id])[broken.id].status == "failed"
