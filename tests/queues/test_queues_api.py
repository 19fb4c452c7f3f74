"""Queue status, metrics and admin control, with real workers where order matters."""

from __future__ import annotations

import pytest
from rq import Queue

from app.extensions import get_redis
from tests.jobs.fixtures import execute, get_execution, make_task, wait_final


def test_status_shape_and_figures(client, auth, ctx, dev, project):
    execute(client, auth(dev), make_task(project, dev, "true").id, priority="low")
    resp = client.get("/api/queues/status", headers=auth(dev))
    assert resp.status_code == 200
    data = resp.get_json()["data"]
    assert set(data["queues"]) == {"high_priority", "normal_priority", "low_priority"}
    low = data["queues"]["low_priority"]
    assert low["size"] == 1 and low["processing"] == 0 and low["completed_today"] == 0
    assert set(data["workers"]) == {"active", "idle", "total"}
    assert set(data["performance"]) >= {"tasks_per_minute", "average_processing_time",
                                        "success_rate"}


@pytest.mark.slow
def test_metrics_count_recorded_runs(client, auth, dev, project, workers):
    workers(1)
    ok = execute(client, auth(dev), make_task(project, dev, "true").id)
    bad = execute(client, auth(dev), make_task(project, dev, "exit 1").id)
    for resp in (ok, bad):
        wait_final(client, auth(dev), resp.get_json()["data"]["execution_id"])
    data = client.get("/api/queues/metrics?period=1h", headers=auth(dev)).get_json()["data"]
    normal = data["queues"]["normal_priority"]
    assert (normal["completed"], normal["failed"]) == (1, 1)
    assert normal["success_rate"] == 0.5
    assert data["overall"]["executions"] == 2 and len(data["timeline"]) == 12
    status = client.get("/api/queues/status", headers=auth(dev)).get_json()["data"]
    assert status["queues"]["normal_priority"]["completed_today"] == 1
    assert status["performance"]["success_rate"] == 0.5
    assert status["workers"]["total"] >= 1
    assert client.get("/api/queues/metrics?period=2d", headers=auth(dev)).status_code == 422


def test_admin_only_control(client, auth, dev):
    for method, path, body in (("post", "/api/queues/pause", {"queue_name": "low"}),
                               ("post", "/api/queues/resume", {"queue_name": "low"}),
                               ("delete", "/api/queues/clear", {"queue_name": "low",
                                                                "confirm": True}),
                               ("post", "/api/queues/priority", {"task_ids": [
                                   "00000000-0000-0000-0000-000000000000"],
                                   "priority": "high"})):
        resp = getattr(client, method)(path, json=body, headers=auth(dev))
        assert resp.status_code == 403, path


def test_unknown_queue_is_404(client, auth, admin):
    resp = client.post("/api/queues/pause", json={"queue_name": "urgent"}, headers=auth(admin))
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "QUEUE_NOT_FOUND"


@pytest.mark.slow
def test_pause_keeps_jobs_in_order_and_resume_runs_them(client, auth, dev, admin, project,
                                                        workers):
    workers(1)
    resp = client.post("/api/queues/pause", headers=auth(admin),
                       json={"queue_name": "normal_priority", "reason": "Maintenance window"})
    assert resp.status_code == 200 and resp.get_json()["data"]["paused"] is True
    held = [execute(client, auth(dev), make_task(project, dev, f"echo {i}").id)
            .get_json()["data"]["execution_id"] for i in range(3)]
    low = execute(client, auth(dev), make_task(project, dev, "echo low").id, priority="low")
    low_id = low.get_json()["data"]["execution_id"]
    assert wait_final(client, auth(dev), low_id)["status"] == "completed"
    assert all(get_execution(client, auth(dev), i)["status"] == "queued" for i in held)
    status = client.get("/api/queues/status", headers=auth(dev)).get_json()["data"]
    assert status["queues"]["normal_priority"]["paused"] is True
    assert status["queues"]["normal_priority"]["size"] == 3
    assert client.post("/api/queues/resume", headers=auth(admin),
                       json={"queue_name": "normal"}).status_code == 200
    runs = [wait_final(client, auth(dev), i) for i in held]
    assert all(r["status"] == "completed" for r in runs)
    starts = [r["started_at"] for r in runs]
    assert starts == sorted(starts)


def test_clear_needs_confirm_and_cancels(client, auth, ctx, dev, admin, project):
    tasks = [make_task(project, dev, "true") for _ in range(2)]
    for t in tasks:
        execute(client, auth(dev), t.id, priority="low")
    refused = client.delete("/api/queues/clear", headers=auth(admin),
                            json={"queue_name": "low_priority"})
    assert refused.status_code == 422
    assert Queue("low", connection=get_redis()).count == 2
    resp = client.delete("/api/queues/clear", headers=auth(admin),
                         json={"queue_name": "low_priority", "confirm": True})
    assert resp.status_code == 200
    data = resp.get_json()["data"]
    assert data["cleared"] == 2 and sorted(data["tasks_cancelled"]) == sorted(
        str(t.id) for t in tasks)
    assert Queue("low", connection=get_redis()).count == 0
    for t in tasks:
        got = client.get(f"/api/tasks/{t.id}", headers=auth(dev)).get_json()["data"]
        assert got["status"] == "cancelled"


def test_priority_moves_queued_jobs(client, auth, ctx, dev, admin, project):
    task = make_task(project, dev, "true")
    idle = make_task(project, dev, "true")
    ex_id = execute(client, auth(dev), task.id, priority="low").get_json()["data"][
        "execution_id"]
    job_id = Queue("low", connection=get_redis()).job_ids[0]
    resp = client.post("/api/queues/priority", headers=auth(admin),
                       json={"task_ids": [str(task.id), str(idle.id)], "priority": "high"})
    assert resp.status_code == 200
    data = resp.get_json()["data"]
    assert [u["task_id"] for u in data["updated"]] == [str(task.id)]
    assert data["skipped"][0]["task_id"] == str(idle.id)
    assert Queue("low", connection=get_redis()).count == 0
    assert job_id in Queue("high", connection=get_redis()).job_ids
    assert get_execution(client, auth(dev), ex_id)["queue"] == "high"


def test_rq_dashboard_is_for_admins(client, auth, dev, admin, app):
    from flask_jwt_extended import create_access_token

    assert client.get("/rq/").status_code == 302
    with app.app_context():
        dev_token = create_access_token(identity=str(dev.id))
        admin_token = create_access_token(identity=str(admin.id))
    client.set_cookie(app.config["JWT_ACCESS_COOKIE_NAME"], dev_token)
    assert client.get("/rq/").status_code == 403
    client.set_cookie(app.config["JWT_ACCESS_COOKIE_NAME"], admin_token)
    page = client.get("/rq/")
    assert page.status_code == 200 and b"RQ" in page.data
    assert client.get("/rq/0/data/queues.json").status_code == 200
