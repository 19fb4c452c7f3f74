"""The dashboard through the test client: only what the viewer may see is counted and listed."""

from __future__ import annotations

import re

from app.extensions import db
from app.models.user import User
from tests import factories
from tests.pages import login_client

page_client = login_client.page_client  # the fixture shared by the page tests


def _count(body: str, status: str) -> int:
    match = re.search(rf'id="dashboard-count-{status}">\s*<span class="count-n">(\d+)<', body)
    return int(match.group(1))


def test_counts_runs_and_activity_are_the_viewers_own(app, page_client, developer, make_user,
                                                      admin):
    stranger = make_user(role="developer")
    with app.app_context():
        me = db.session.get(User, developer.id)
        mine = factories.project(me, name="Mine")
        factories.task(mine, me, title="Waiting")
        busy = factories.task(mine, me, title="Busy one", status="running",
                              progress_percentage=40)
        run_id = factories.execution(busy, me)
        cmd_id = factories.command(me, command_line="make build")
        theirs = factories.project(db.session.get(User, stranger.id), name="Theirs")
        other = factories.task(theirs, db.session.get(User, stranger.id), title="Secret task",
                               status="running")
        factories.execution(other, db.session.get(User, stranger.id))
    page = page_client(developer).get("/")
    assert page.status_code == 200
    body = page.data.decode()
    assert _count(body, "pending") == 1 and _count(body, "running") == 1
    assert f'href="/executions/{run_id}">Busy one</a>' in body
    assert 'value="40"' in body                                   # the task's progress bar
    assert f'href="/commands/{cmd_id}"' in body and "make build" in body
    assert "Secret task" not in body and "Theirs" not in body
    assert "task created" in body and "Waiting" in body            # recent activity
    assert 'ws-connect="/ws/pages?topics=dashboard,queues,system"' in body
    assert 'id="queues-figures"' in body
    everything = page_client(admin).get("/").data.decode()
    assert _count(everything, "running") == 2 and "Secret task" in everything


def test_empty_dashboard(page_client, viewer):
    body = page_client(viewer).get("/").data.decode()
    assert 'id="dashboard-idle"' in body and _count(body, "completed") == 0


def test_anonymous_visitors_go_to_login(client):
    resp = client.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
