"""The queues page's handlers through the test client: figures, metrics and chart data, admin
control (pause, resume, clear with confirmation) and who may use it."""

from __future__ import annotations

import json
import re

from app.extensions import db
from app.models.user import User
from app.services import queues
from tests import factories
from tests.pages import login_client

page_client = login_client.page_client  # the fixture shared by the page tests


def test_page_for_admins_and_others(page_client, admin, developer):
    page = page_client(admin).get("/queues")
    assert page.status_code == 200
    body = page.data.decode()
    assert 'id="queues-figures"' in body and 'id="queue-low-row" data-paused="0"' in body
    assert 'ws-connect="/ws/pages?topics=queues,system"' in body
    assert 'id="queue-high-pause"' in body and 'href="/rq/"' in body
    chart = json.loads(re.search(r"data-chart='([^']*)'", body).group(1).replace("&#34;", '"'))
    assert [s["label"] for s in chart["series"]] == ["Completed", "Failed", "Cancelled"]
    assert len(chart["labels"]) == 24                           # 24h in hours
    other = page_client(developer).get("/queues").data.decode()
    assert 'id="queues-figures"' in other and 'id="queue-high-pause"' not in other
    assert 'href="/rq/"' not in other and "Only admins" in other


def test_pause_and_resume_by_an_admin(app, page_client, admin, developer):
    assert page_client(developer).hx_post("/queues/low/pause").status_code == 403
    client = page_client(admin)
    paused = client.hx_post("/queues/low/pause", {"reason": "deploy"})
    assert paused.status_code == 200
    body = paused.data.decode()
    assert 'id="queue-low-resume"' in body and "Queue low paused" in body
    assert 'id="queue-low-row" data-paused="1"' in body       # the figures, out of band
    with app.app_context():
        assert queues.paused()["low"]["reason"] == "deploy"
    resumed = client.hx_post("/queues/low/resume").data.decode()
    assert 'id="queue-low-pause"' in resumed and "Queue low resumed" in resumed
    with app.app_context():
        assert "low" not in queues.paused()
    unknown = client.hx_post("/queues/nowhere/pause").data.decode()
    assert 'id="queues-control-error"' in unknown and "No queue named" in unknown


def test_clear_needs_confirmation(app, page_client, admin):
    with app.app_context():
        owner = db.session.get(User, admin.id)
        project = factories.project(owner)
        task = factories.task(project, owner, executor="shell", command="true")
        from app.services import executions

        executions.execute(task.id, owner, "low")
    client = page_client(admin)
    refused = client.hx_post("/queues/low/clear").data.decode()
    assert 'id="queues-control-error"' in refused and "confirm" in refused
    with app.app_context():
        assert queues.sizes()["low"] == 1
    cleared = client.hx_post("/queues/low/clear", {"confirm": "1"}).data.decode()
    assert "1 job(s) removed, 1 task(s)" in cleared
    with app.app_context():
        from app.models.task import Task

        assert queues.sizes()["low"] == 0
        assert db.session.get(Task, task.id).status == "cancelled"


def test_metrics_period_switch(page_client, developer):
    client = page_client(developer)
    hour = client.hx_get("/queues/metrics?period=1h").data.decode()
    assert 'id="queues-metrics"' in hour and "<html" not in hour
    assert 'aria-current="page" class="current" id="queues-period-1h"' in hour
    assert "per 5 minutes" in hour
    odd = client.hx_get("/queues/metrics?period=1y").data.decode()
    assert 'id="queues-period-24h"' in odd and "per hour" in odd


def test_figures_fragment(page_client, developer):
    resp = page_client(developer).hx_get("/queues/figures")
    assert resp.status_code == 200 and b'id="queues-workers"' in resp.data
