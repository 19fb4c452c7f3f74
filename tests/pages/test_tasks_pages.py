"""Task pages through the test client: forms, the task page, running from it, dependencies.

Execute/cancel/retry go through the real execution service and a real Redis queue (no worker is
needed: a queued task is enough to check what the page does with it).
"""

from __future__ import annotations

import re
import uuid

import pytest

from app.extensions import db
from app.models.audit import AuditLog
from app.models.execution import TaskExecution
from app.models.task import Task, TaskDependency
from tests import factories
from tests.pages import login_client

page_client = login_client.page_client  # the fixture, shared by the 6A page tests


@pytest.fixture
def project(app, developer):
    with app.app_context():
        return factories.project(developer, name="Tasks home")


@pytest.fixture
def make_task(app, developer, project):
    def make(**kwargs):
        kwargs.setdefault("executor", "shell")
        kwargs.setdefault("command", "echo hello")
        with app.app_context():
            return factories.task(project, kwargs.pop("creator", developer), **kwargs)

    return make


def _task(app, task_id) -> Task:
    with app.app_context():
        task = db.session.get(Task, task_id)
        _ = task.tags
        db.session.expunge(task)
        return task


def _redirect_id(resp) -> uuid.UUID:
    assert resp.status_code == 204, resp.data[:800]
    return uuid.UUID(resp.headers["HX-Redirect"].rsplit("/", 1)[1])


# ---------------------------------------------------------------- create

def test_new_task_form_for_writers_only(page_client, developer, viewer, project, app):
    assert b'id="task-form"' in page_client(developer).get(
        f"/projects/{project.id}/tasks/new").data
    assert page_client(viewer).get(f"/projects/{project.id}/tasks/new").status_code == 403


def test_create_errors_are_shown_next_to_their_field_and_nothing_is_written(
        app, page_client, developer, project):
    client = page_client(developer)
    url = f"/projects/{project.id}/tasks"
    cases = {
        "task-command": {"title": "Run", "executor": "shell", "command": "  "},
        "task-title": {"title": "", "executor": "claude"},
        "task-tags": {"title": "Run", "executor": "claude", "tags": "ok, Not/Valid"},
        "task-estimate": {"title": "Run", "executor": "claude", "estimated_duration": "2h"},
        "task-workdir": {"title": "Run", "executor": "claude", "working_directory": "../up"},
        "task-priority": {"title": "Run", "executor": "claude", "priority": "11"},
        "task-metadata": {"title": "Run", "executor": "claude", "metadata_json": "[1]"},
    }
    for element, form in cases.items():
        resp = client.hx_post(url, form)
        assert resp.status_code == 422, element
        assert f'id="{element}-error"'.encode() in resp.data, (element, resp.data[:2000])
        assert b"<html" not in resp.data
    with app.app_context():
        assert db.session.query(Task).count() == 0


def test_create_stores_every_field_and_the_picked_dependencies(
        app, page_client, developer, make_user, project, make_task):
    helper = make_user(full_name="Ann Assignee")
    with app.app_context():
        from app.services.projects import update_project

        owner = db.session.get(type(developer), developer.id)
        update_project(project.id, owner, {"settings": {"members": [str(helper.id)]}})
    first = make_task(title="Prepare")
    client = page_client(developer)
    form = client.get(f"/projects/{project.id}/tasks/new")
    assert b"Ann Assignee" in form.data
    resp = client.hx_post(f"/projects/{project.id}/tasks", {
        "title": "Deploy", "description": "Ship it", "executor": "shell",
        "command": "make build\r\nmake deploy", "working_directory": "src",
        "priority": "7", "estimated_duration": "01:30:00", "assigned_to": str(helper.id),
        "tags": "Backend, release", "metadata_json": '{"ticket": 12}',
        "depends_on": [str(first.id)]})
    task = _task(app, _redirect_id(resp))
    assert (task.title, task.priority, task.estimated_duration) == ("Deploy", 7, 5400)
    assert task.command == "make build\nmake deploy"       # CRLF from the textarea
    assert task.working_directory == "src" and task.assigned_to == helper.id
    assert task.tags == ["backend", "release"] and task.meta == {"ticket": 12}
    with app.app_context():
        deps = db.session.query(TaskDependency).filter_by(task_id=task.id).all()
        assert [d.depends_on_task_id for d in deps] == [first.id]
    page = client.get(f"/tasks/{task.id}")
    assert b"Prepare" in page.data and b"Ann Assignee" in page.data
    assert b"make build\nmake deploy" in page.data


def test_picker_and_chip_for_the_create_form(page_client, developer, project, make_task):
    wanted = make_task(title="Authentication flow")
    make_task(title="Billing")
    client = page_client(developer)
    found = client.hx_get(f"/projects/{project.id}/task-picker?q=auth")
    assert b"Authentication flow" in found.data and b"Billing" not in found.data
    assert f'hx-get="/tasks/{wanted.id}/chip"'.encode() in found.data
    chip = client.hx_get(f"/tasks/{wanted.id}/chip")
    assert f'name="depends_on" value="{wanted.id}" checked'.encode() in chip.data
    bad = client.hx_get(f'/projects/{project.id}/task-picker?q="open')
    assert b'class="error"' in bad.data
    gone = client.hx_post(f"/projects/{project.id}/tasks", {
        "title": "X", "executor": "claude", "depends_on": [str(uuid.uuid4())]})
    assert gone.status_code == 422 and b'id="task-deps-error"' in gone.data


# ---------------------------------------------------------------- the task page

def test_task_page_shows_details_history_and_actions_for_a_developer(
        page_client, developer, make_task):
    task = make_task(title="Page me", tags=["one"])
    page = page_client(developer).get(f"/tasks/{task.id}")
    assert page.status_code == 200
    for marker in (f'id="task-{task.id}-status"', f'id="task-{task.id}-actions"',
                   f'id="task-{task.id}-execute"', 'id="task-edit"', 'id="task-delete"',
                   f'id="task-{task.id}-deps"', f'id="task-{task.id}-executions"',
                   f'id="task-{task.id}-history"',
                   f'ws-connect="/ws/pages?topics=task:{task.id}"'):
        assert marker.encode() in page.data, marker
    assert b"created" in page.data and b"Not run yet" in page.data
    assert f'id="task-{task.id}-cancel"'.encode() not in page.data


def test_viewer_sees_no_controls_and_is_refused_when_posting(
        app, page_client, developer, make_user, make_task, project):
    viewer = make_user(role="viewer")
    with app.app_context():
        from app.services.projects import update_project

        owner = db.session.get(type(developer), developer.id)
        update_project(project.id, owner, {"settings": {"members": [str(viewer.id)]}})
    task = make_task(title="Look only")
    client = page_client(viewer)
    page = client.get(f"/tasks/{task.id}")
    assert page.status_code == 200 and b"Look only" in page.data
    for marker in (f'id="task-{task.id}-execute"', 'id="task-edit"', 'id="task-delete"',
                   'id="dep-search"', "/execute", "/retry"):
        assert marker.encode() not in page.data, marker
    for path, data in ((f"/tasks/{task.id}/execute", {"priority": "high"}),
                       (f"/tasks/{task.id}/retry", {}), (f"/tasks/{task.id}/cancel", {}),
                       (f"/tasks/{task.id}", {"title": "Changed"}),
                       (f"/tasks/{task.id}/delete", {"confirm": "yes"}),
                       (f"/tasks/{task.id}/dependencies", {"depends_on_task_id": str(task.id)})):
        refused = client.hx_post(path, data)
        assert refused.status_code == 403, path
    assert client.get(f"/tasks/{task.id}/edit").status_code == 403
    stored = _task(app, task.id)
    assert (stored.title, stored.status, stored.deleted_at) == ("Look only", "pending", None)
    with app.app_context():
        assert db.session.query(TaskExecution).count() == 0


def test_edit_sends_only_what_changed(app, page_client, developer, make_task):
    task = make_task(title="Before", priority=2, tags=["a"])
    client = page_client(developer)
    form = client.get(f"/tasks/{task.id}/edit")
    assert b'value="Before"' in form.data and b'id="task-status"' in form.data
    bad = client.hx_post(f"/tasks/{task.id}", {"title": "After", "executor": "shell",
                                               "command": "echo hello",
                                               "estimated_duration": "99:99"})
    assert bad.status_code == 422 and b'id="task-estimate-error"' in bad.data
    assert _task(app, task.id).title == "Before"
    resp = client.hx_post(f"/tasks/{task.id}", {
        "title": "After", "executor": "shell", "command": "echo hello", "priority": "2",
        "tags": "a", "status": "completed", "progress_percentage": "0"})
    assert _redirect_id(resp) == task.id
    saved = _task(app, task.id)
    assert (saved.title, saved.status, saved.progress_percentage) == ("After", "completed", 100)
    with app.app_context():
        fields = sorted(e.field for e in db.session.query(AuditLog).filter_by(
            entity_id=task.id) if e.field)
    assert fields == ["status", "title"]


def _offered_statuses(client, task_id) -> list[str] | None:
    form = client.get(f"/tasks/{task_id}/edit").data.decode()
    if '<select name="status"' not in form:
        return None
    return re.findall(r'<option value="([a-z]+)"',
                      form.split('<select name="status"')[1].split("</select>")[0])


def test_edit_form_never_sets_running_or_queued(app, page_client, developer, make_task):
    """Only an execution makes a task queued or running (issue 10, point 19): the form never
    offers them, a task in one shows its status read-only, and a forged post is refused inline
    with what may be chosen instead; nothing changes."""
    pending = make_task(title="Idle")
    client = page_client(developer)
    assert _offered_statuses(client, pending.id) == ["pending", "cancelled", "completed"]
    for forged in ("running", "queued"):
        resp = client.hx_post(f"/tasks/{pending.id}", {
            "title": "Idle", "executor": "shell", "command": "echo hello", "priority": "0",
            "status": forged, "progress_percentage": "0"})
        assert resp.status_code == 422
        error = re.search(r'id="task-status-error" role="alert">([^<]*)<', resp.data.decode())
        assert error and f"{forged} only by executing it" in error.group(1), resp.data.decode()
        assert "cancelled, completed" in error.group(1)
        assert _task(app, pending.id).status == "pending"
    for status in ("queued", "running"):
        busy = make_task(title=f"Busy {status}", status=status)
        form = client.get(f"/tasks/{busy.id}/edit").data.decode()
        assert _offered_statuses(client, busy.id) is None
        shown = form.split('id="task-status"')[1].split("</p>")[0]
        assert f'status-{status}">{status}<' in shown and "set by its run" in shown
        # Saving the form of a running task changes the other fields, not the status.
        resp = client.hx_post(f"/tasks/{busy.id}", {
            "title": "Renamed", "executor": "shell", "command": "echo hello", "priority": "0",
            "progress_percentage": "40"})
        assert _redirect_id(resp) == busy.id
        saved = _task(app, busy.id)
        assert (saved.title, saved.status, saved.progress_percentage) == ("Renamed", status, 40)


def test_delete_from_the_task_page(app, page_client, developer, make_task, project):
    task = make_task()
    client = page_client(developer)
    resp = client.hx_post(f"/tasks/{task.id}/delete", {"confirm": "yes"})
    assert resp.headers["HX-Redirect"] == f"/projects/{project.id}/board"
    assert _task(app, task.id).deleted_at is not None
    assert client.get(f"/tasks/{task.id}").status_code == 404


# ---------------------------------------------------------------- running

def test_execute_goes_to_the_execution_then_cancel_and_retry(app, page_client, developer,
                                                             make_task):
    task = make_task(title="Runner")
    client = page_client(developer)
    resp = client.hx_post(f"/tasks/{task.id}/execute", {"priority": "high"})
    assert resp.status_code == 204
    execution_id = resp.headers["HX-Redirect"].removeprefix("/executions/")
    with app.app_context():
        run = db.session.get(TaskExecution, uuid.UUID(execution_id))
        assert (run.status, run.queue) == ("queued", "high")
    page = client.get(f"/tasks/{task.id}")
    assert f'href="/executions/{execution_id}"'.encode() in page.data
    assert f'id="task-{task.id}-cancel"'.encode() in page.data
    again = client.hx_post(f"/tasks/{task.id}/execute", {"priority": "normal"})
    assert again.status_code == 200 and b"already queued" in again.data

    cancelled = client.hx_post(f"/tasks/{task.id}/cancel")
    assert cancelled.status_code == 200
    assert f'id="task-{task.id}-retry"'.encode() in cancelled.data
    assert re.search(rb'id="task-[^"]+-status" class="status status-cancelled" '
                     rb'hx-swap-oob="true"', cancelled.data)
    assert _task(app, task.id).status == "cancelled"

    retried = client.hx_post(f"/tasks/{task.id}/retry")
    assert retried.status_code == 204 and retried.headers["HX-Redirect"].startswith(
        "/executions/")
    assert retried.headers["HX-Redirect"] != f"/executions/{execution_id}"
    runs = client.hx_get(f"/tasks/{task.id}/executions")
    assert runs.data.count(b'class="execution-link"') == 2


def test_execute_refusals_are_shown_under_the_buttons(app, page_client, developer, make_task):
    blocker = make_task(title="First")
    task = make_task(title="Second")
    unsafe = make_task(title="Danger", command="rm -rf /")
    client = page_client(developer)
    client.hx_post(f"/tasks/{task.id}/dependencies", {"depends_on_task_id": str(blocker.id)})
    blocked = client.hx_post(f"/tasks/{task.id}/execute", {"priority": "normal"})
    assert blocked.status_code == 200
    assert f'id="task-{task.id}-actions-error"'.encode() in blocked.data
    assert b"blocked by" in blocked.data and b"First" in blocked.data
    refused = client.hx_post(f"/tasks/{unsafe.id}/execute", {"priority": "normal"})
    assert b"refused" in refused.data
    with app.app_context():
        assert db.session.query(TaskExecution).count() == 0


def test_dependencies_add_remove_and_cycles(app, page_client, developer, make_task, project):
    a = make_task(title="Alpha")
    b = make_task(title="Bravo")
    client = page_client(developer)
    picker = client.hx_get(f"/projects/{project.id}/task-picker?q=&for={a.id}")
    assert b"Bravo" in picker.data and b"Alpha" not in picker.data
    added = client.hx_post(f"/tasks/{a.id}/dependencies", {"depends_on_task_id": str(b.id)})
    assert f'id="task-{a.id}-deps"'.encode() in added.data and b"Bravo" in added.data
    cycle = client.hx_post(f"/tasks/{b.id}/dependencies", {"depends_on_task_id": str(a.id)})
    assert f'id="task-{b.id}-deps-error"'.encode() in cycle.data and b"cycle" in cycle.data
    with app.app_context():
        dep = db.session.query(TaskDependency).filter_by(task_id=a.id).one()
        dep_id = dep.id
    removed = client.hx_post(f"/tasks/{a.id}/dependencies/{dep_id}/delete")
    assert b"No dependencies" in removed.data
    with app.app_context():
        assert db.session.query(TaskDependency).count() == 0
