"""Moving waiting tasks between queues from the queues page (admins), through the test client.

Tasks are queued through the real execution service into the real Redis queues (no worker
runs, so they stay queued); what a user checks is the list, the result shown in place, the
figures sent with it, the runs' queues in the database and the jobs' lists in Redis.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models.audit import AuditLog
from app.models.execution import TaskExecution
from app.models.user import User
from app.services import executions, queues
from tests import factories
from tests.pages import login_client

page_client = login_client.page_client  # the fixture shared by the page tests


@pytest.fixture
def waiting(app, developer):
    """Two tasks of a developer's project queued on `low`, one pending (never queued)."""
    with app.app_context():
        owner = db.session.get(User, developer.id)
        project = factories.project(owner, name="Queue home")
        made = [factories.task(project, owner, title=title, executor="shell", command="true")
                for title in ("Slow <one>", "Also slow", "Not queued")]
        for task in made[:2]:
            executions.execute(task.id, owner, "low")
    return project, made


def _runs(app) -> dict:
    """{task_id: queue} of the queued runs, and the RQ sizes."""
    with app.app_context():
        runs = {r.task_id: r.queue for r in db.session.scalars(
            select(TaskExecution).where(TaskExecution.status == "queued"))}
        return runs, queues.sizes()


def test_admins_see_the_waiting_tasks_others_do_not(app, page_client, admin, developer,
                                                    waiting):
    project, (slow, also, idle) = waiting
    page = page_client(admin).get("/queues").data.decode()
    assert 'id="queues-moves"' in page and 'id="queues-moves-form"' in page
    assert 'data-selection="queues-moves"' in page
    assert 'id="queue-low-waiting-count" aria-label="2 waiting">2<' in page
    assert 'id="queue-high-waiting-count" aria-label="0 waiting">0<' in page
    item = re.search(rf'<li id="queued-{slow.id}" data-queue="low">(.*?)</li>', page, re.S).group(1)
    assert f'id="queued-{slow.id}-select" name="task_ids" value="{slow.id}"' in item
    assert 'aria-label="Select Slow &lt;one&gt;"' in item and "Slow &lt;one&gt;" in item
    assert f'href="/projects/{project.id}">Queue home</a>' in item
    assert "waiting since <time" in item
    assert f'id="queued-{also.id}"' in page and f'id="queued-{idle.id}"' not in page
    assert 'data-select-all="queue-low-waiting-list"' in page

    other = page_client(developer)
    assert 'id="queues-moves"' not in other.get("/queues").data.decode()
    assert other.hx_get("/queues/waiting").status_code == 403
    fragment = page_client(admin).hx_get("/queues/waiting").data.decode()
    assert fragment.startswith('<div id="queues-waiting"') and f'id="queued-{slow.id}"' in fragment
    assert 'hx-trigger="queues-changed from:body"' in fragment


def test_admin_moves_a_task_from_low_to_high(app, page_client, admin, waiting):
    _project, (slow, also, _idle) = waiting
    resp = page_client(admin).hx_post("/queues/move", {"task_ids": [str(slow.id)], "to": "high"})
    assert resp.status_code == 200
    body = resp.data.decode()
    assert body.startswith('<div id="queues-moves-result"')
    assert "Moved 1 of 1 task to high." in body and "Slow &lt;one&gt;</strong>: low → high" in body
    assert f'data-succeeded="{slow.id}"' in body
    # the list and the figures come with it, out of band
    assert re.search(r'<div id="queues-waiting"[^>]*hx-swap-oob="true"', body)
    assert re.search(rf'<li id="queued-{slow.id}" data-queue="high">', body)
    assert re.search(r'<section id="queues-figures"[^>]*hx-swap-oob="true"', body)
    assert '<td id="queue-high-size">1</td>' in body and '<td id="queue-low-size">1</td>' in body

    runs, sizes = _runs(app)
    assert runs == {slow.id: "high", also.id: "low"}
    assert (sizes["high"], sizes["low"]) == (1, 1)
    with app.app_context():
        entry = db.session.scalars(select(AuditLog).where(
            AuditLog.action == "priority_changed")).one()
        assert (entry.old_value, entry.new_value, entry.user_id) == ("low", "high", admin.id)


def test_a_task_that_is_not_waiting_is_reported_with_its_title(app, page_client, admin,
                                                                waiting):
    _project, (slow, _also, idle) = waiting
    body = page_client(admin).hx_post("/queues/move", {
        "task_ids": [str(slow.id), str(idle.id)], "to": "normal"}).data.decode()
    assert "Moved 1 of 2 tasks to normal." in body
    assert "<strong>Not queued</strong>: not waiting any more (now pending)" in body
    assert f'data-succeeded="{slow.id}"' in body
    assert _runs(app)[0][slow.id] == "normal"


@pytest.mark.parametrize(("form", "message"), [
    ({"to": "high"}, "Select at least one waiting task first."),
    ({"to": "urgent", "task_ids": "SLOW"}, "No queue named &#39;urgent&#39;"),
    ({"to": "high", "task_ids": "not-an-id"}, "Not a task id"),
])
def test_refusals_move_nothing(app, page_client, admin, waiting, form, message):
    _project, (slow, _also, _idle) = waiting
    if form.get("task_ids") == "SLOW":
        form = {**form, "task_ids": str(slow.id)}
    before = _runs(app)
    resp = page_client(admin).hx_post("/queues/move", form)
    assert resp.status_code == 422
    body = resp.data.decode()
    assert 'id="queues-moves-error"' in body and message in body, body
    assert "data-succeeded" not in body
    assert _runs(app) == before


def test_only_admins_may_move(app, page_client, developer, viewer, waiting):
    _project, (slow, _also, _idle) = waiting
    before = _runs(app)
    for user in (developer, viewer):
        resp = page_client(user).hx_post("/queues/move", {"task_ids": [str(slow.id)],
                                                          "to": "high"})
        assert resp.status_code == 403
    assert _runs(app) == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "priority_changed")) == 0
