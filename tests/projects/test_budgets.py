"""Monthly budgets with real workers and the Claude stand-in: spend adds up run after run, the
80 % alert comes once, 100 % brings its alert and the `budget.exceeded` webhook (delivered to a
local receiver, signed; a stranger's webhook hears nothing), then Claude runs are refused (409
PROJECT_BUDGET_EXCEEDED: execute, retry) unless an admin overrides (recorded in the task's
history); shell runs are never refused; and the next month starts again (the clock given to the
service)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from app.extensions import db
from app.models.budget import ProjectBudgetAlert
from app.models.execution import TaskExecution
from app.models.project import Project
from app.models.task import Task
from app.models.user import User
from app.services import budgets
from tests import factories
from tests.jobs.fixtures import execute, make_task, wait_final
from tests.live import wait_for
from tests.webhooks.conftest import Receiver

pytestmark = pytest.mark.slow


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def _hook(client, headers, url: str) -> str:
    resp = client.post("/api/webhooks/", json={"url": url, "events": [
        "system.alert", "budget.exceeded"]}, headers=headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["data"]["secret"]


def _run(client, headers, task, **body) -> dict:
    resp = execute(client, headers, task.id, **body)
    assert resp.status_code == 200, resp.get_json()
    data = wait_final(client, headers, resp.get_json()["data"]["execution_id"])
    assert data["status"] == "completed", data["error"]
    return data


def _received(receiver, path: str = "/hook") -> list[dict]:
    """The budget deliveries to `path`. Other system alerts (a worker lost, the realtime hub
    reconnecting under load) go to every `system.alert` subscriber, strangers included, and are
    not this test's business."""
    payloads = [json.loads(r["body"]) for r in receiver.requests if r["path"] == path]
    return [p for p in payloads
            if p["event"] == "budget.exceeded" or p["data"].get("alert") == "budget"]


def _spent(client, headers, project) -> dict:
    resp = client.get(f"/api/projects/{project.id}/analytics?period=7d", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["data"]["costs"]["budget"]


def test_budget_alerts_refusal_override_and_next_month(ctx, client, auth, developer, admin,
                                                       make_user, workers, receiver):
    workers(1, WEBHOOK_BACKOFF_SECONDS="0.3", WEBHOOK_TIMEOUT="2")
    dev, boss = auth(developer), auth(admin)
    stranger = make_user(role="developer")
    project = factories.project(developer, resource_limits={"monthly_budget_usd": 1.0})
    secret = _hook(client, dev, receiver.url)
    _hook(client, auth(stranger), receiver.url.replace("/hook", "/stranger"))
    tasks = {cost: make_task(project, developer, f"[cost:{cost}] spend", executor="claude")
             for cost in ("0.5", "0.35", "0.2", "0.1")}

    _run(client, dev, tasks["0.5"])
    assert _spent(client, dev, project)["spent_usd"] == pytest.approx(0.5)

    _run(client, dev, tasks["0.35"])  # 0.85: over 80 %
    alert = wait_for(lambda: _received(receiver), 20, 0.05, "the 80 % alert")[0]
    assert alert["event"] == "system.alert"
    assert alert["data"]["threshold"] == 80 and alert["data"]["alert"] == "budget"
    assert alert["data"]["project_id"] == str(project.id)
    assert alert["data"]["spent_usd"] == pytest.approx(0.85) and alert["data"]["level"] == "warning"
    assert _spent(client, dev, project)["state"] == "warning"

    _run(client, dev, tasks["0.2"])  # 1.05: spent
    got = wait_for(lambda: len(_received(receiver)) >= 3 and _received(receiver), 20, 0.05,
                   "the 100 % alert and budget.exceeded")
    exceeded = next(p for p in got if p["event"] == "budget.exceeded")
    assert exceeded["data"] == {
        "project_id": str(project.id), "project_name": project.name,
        "month": budgets.month_bounds()[2], "threshold": 100, "monthly_budget_usd": 1.0,
        "spent_usd": pytest.approx(1.05), "percent": pytest.approx(105.0),
        "resets_at": exceeded["data"]["resets_at"]}
    assert set(exceeded) == {"event", "timestamp", "data", "webhook_id", "delivery_id"}
    request = next(r for r in receiver.requests if json.loads(r["body"])["event"]
                   == "budget.exceeded")
    assert request["headers"]["X-Event-Type"] == "budget.exceeded"
    assert request["headers"]["X-Signature-256"] == "sha256=" + hmac.new(
        secret.encode(), request["body"], hashlib.sha256).hexdigest()
    hundred = [p for p in got if p["event"] == "system.alert" and p["data"]["threshold"] == 100]
    assert len(hundred) == 1 and hundred[0]["data"]["level"] == "error"

    # Beyond the budget: refused, nothing queued, for the developer even with the override.
    for body in ({}, {"options": {"override_budget": True}}):
        resp = execute(client, dev, tasks["0.1"].id, **body)
        assert resp.status_code == 409, resp.get_json()
        error = resp.get_json()["error"]
        assert error["code"] == "PROJECT_BUDGET_EXCEEDED"
        assert error["details"]["spent_usd"] == pytest.approx(1.05)
        assert "$1.05 of its $1.00" in error["message"]
    db.session.expire_all()
    assert db.session.get(Task, tasks["0.1"].id).status == "pending"
    assert db.session.query(TaskExecution).filter_by(task_id=tasks["0.1"].id).count() == 0
    failed = make_task(project, developer, "[cost:0.1] again", executor="claude",
                       status="failed")
    resp = client.post(f"/api/tasks/{failed.id}/retry", headers=dev)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == \
        "PROJECT_BUDGET_EXCEEDED"
    shell = make_task(project, developer, "echo shell runs cost nothing")
    assert wait_final(client, dev, execute(client, dev, shell.id).get_json()["data"][
        "execution_id"])["status"] == "completed"

    # An admin may override; the task's history says who and at what spend.
    _run(client, boss, tasks["0.1"], options={"override_budget": True})
    history = client.get(f"/api/tasks/{tasks['0.1'].id}/history", headers=dev).get_json()
    override = next(h for h in history["data"]["history"] if h["action"] == "budget_override")
    assert override["user_id"] == str(admin.id)
    assert override["details"]["spent_usd"] == pytest.approx(1.05)
    # Once per threshold: the override run's spend raised nothing new. One more run through
    # the same single worker has finished only after every job that run queued (webhook jobs
    # go to the high queue, served first).
    assert wait_final(client, dev, execute(client, dev, shell.id).get_json()["data"][
        "execution_id"])["status"] == "completed"
    mine = [(p["event"], p["data"]["threshold"]) for p in _received(receiver)]
    assert sorted(mine) == [("budget.exceeded", 100), ("system.alert", 80),
                            ("system.alert", 100)]
    assert _received(receiver, "/stranger") == []
    assert budgets.spend_recorded(project.id) == []
    assert db.session.query(ProjectBudgetAlert).count() == 2

    # Next month (the clock given to the service): nothing spent, runs allowed again, alerts
    # armed again for that month.
    next_month = budgets.month_bounds()[1] + timedelta(hours=1)
    state = budgets.status(db.session.get(Project, project.id), now=next_month)
    assert state["spent_usd"] == 0 and state["state"] == "ok" and state["alerts"] == []
    task = db.session.get(Task, tasks["0.1"].id)
    budgets.check_start(task, db.session.get(User, developer.id), {}, now=next_month)
    db.session.query(TaskExecution).filter_by(project_id=project.id).update(
        {TaskExecution.started_at: next_month})
    db.session.commit()
    assert budgets.spend_recorded(project.id, now=next_month) == [80, 100]
    months = sorted(a.month for a in db.session.query(ProjectBudgetAlert))
    assert months == sorted([budgets.month_bounds()[2]] * 2 + [budgets.month_bounds(
        next_month)[2]] * 2)


def test_budget_field_rules(api_for, developer):
    api = api_for(developer)
    for bad in (0, -5, "10", True, 1_000_001):
        code, _, error = api.error("post", "/api/projects/", {
            "name": "B", "resource_limits": {"monthly_budget_usd": bad}})
        assert code == 422 and error["details"]["field"] == \
            "resource_limits.monthly_budget_usd", (bad, error)
    data = api.ok("post", "/api/projects/", {"name": "B", "resource_limits": {
        "monthly_budget_usd": 50}}, expect=201)
    assert data["resource_limits"]["monthly_budget_usd"] == 50.0
    data = api.ok("put", f"/api/projects/{data['id']}", {"resource_limits": {
        "monthly_budget_usd": None}})
    assert data["resource_limits"]["monthly_budget_usd"] is None


def test_a_default_budget_applies_to_new_projects(api_for, developer, app, monkeypatch):
    monkeypatch.setitem(app.config, "PROJECT_MONTHLY_BUDGET_USD", "20")
    data = api_for(developer).ok("post", "/api/projects/", {"name": "D"}, expect=201)
    assert data["resource_limits"]["monthly_budget_usd"] == 20.0
