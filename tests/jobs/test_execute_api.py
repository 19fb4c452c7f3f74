"""Execute without workers: the answer, the checks, and nothing half-written on refusal."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import redis
from sqlalchemy import func, select

from app.errors import AppError
from app.extensions import db
from app.models.execution import TaskExecution
from app.models.task import Task
from tests.jobs.fixtures import execute, make_task


def _count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(TaskExecution))


def test_answer_has_position_and_estimate(client, auth, ctx, dev, project):
    first = make_task(project, dev, "true")
    second = make_task(project, dev, "true")
    high = make_task(project, dev, "true")
    a = execute(client, auth(dev), first.id).get_json()["data"]
    b = execute(client, auth(dev), second.id).get_json()["data"]
    c = execute(client, auth(dev), high.id, priority="high").get_json()["data"]
    # positions count every job ahead in dequeue order (webhook jobs on `high` included)
    from rq import Queue

    from app.extensions import get_redis

    high_now = Queue("high", connection=get_redis()).count
    assert a["queue_position"] < b["queue_position"]
    assert 1 <= c["queue_position"] <= high_now < b["queue_position"] + high_now
    for answer in (a, b, c):
        assert answer["status"] == "queued" and answer["task_id"]
        datetime.fromisoformat(answer["estimated_start_time"].replace("Z", "+00:00"))
    task = db.session.get(Task, first.id)
    assert task.status == "queued"


def test_permissions_and_validation(client, auth, ctx, dev, project, make_user):
    task = make_task(project, dev, "true")
    viewer = make_user(role="viewer")
    stranger = make_user(role="developer")
    assert execute(client, auth(viewer), task.id).status_code == 403
    denied = execute(client, auth(stranger), task.id)
    assert denied.status_code == 403
    assert denied.get_json()["error"]["code"] == "PROJECT_ACCESS_DENIED"
    bad = execute(client, auth(dev), task.id, options={"timeout": -1})
    assert bad.status_code == 422 and bad.get_json()["error"]["details"]["field"] == \
        "options.timeout"
    assert execute(client, auth(dev), task.id, priority="urgent").status_code == 422
    unsafe = make_task(project, dev, "rm -rf /")
    refused = execute(client, auth(dev), unsafe.id)
    assert refused.status_code == 422 and "delete" in refused.get_json()["error"]["message"]
    assert _count() == 0


def test_queue_full_is_503_and_writes_nothing(client, auth, ctx, dev, project, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_QUEUE_LENGTH", 1)
    execute(client, auth(dev), make_task(project, dev, "true").id)
    task = make_task(project, dev, "true")
    resp = execute(client, auth(dev), task.id)
    assert resp.status_code == 503 and resp.get_json()["error"]["code"] == "QUEUE_FULL"
    assert _count() == 1
    assert db.session.get(Task, task.id).status == "pending"


def test_redis_down_is_503_and_writes_nothing(ctx, dev, project, app, monkeypatch):
    from app.services import executions
    from app.services import queues as queue_service

    task = make_task(project, dev, "true")
    user = db.session.merge(dev)
    dead = redis.Redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.2)
    monkeypatch.setitem(app.extensions, "redis", dead)
    with pytest.raises(AppError) as caught:
        executions.execute(task.id, user)
    assert caught.value.code == "SYSTEM_OVERLOADED" and caught.value.status == 503
    monkeypatch.undo()
    # Redis failing after the checks (between flush and commit) undoes everything too
    def broken(*args, **kwargs):
        raise redis.ConnectionError("gone")

    monkeypatch.setattr(queue_service, "enqueue_run", broken)
    with pytest.raises(AppError) as caught:
        executions.execute(task.id, user)
    assert caught.value.code == "SYSTEM_OVERLOADED"
    assert _count() == 0
    assert db.session.get(Task, task.id).status == "pending"


def test_maintenance_refuses_new_executions(client, auth, ctx, dev, project, admin):
    from app.services import system

    task = make_task(project, dev, "true")
    system.set_maintenance(True, "upgrading")
    resp = execute(client, auth(dev), task.id)
    assert resp.status_code == 503 and resp.get_json()["error"]["code"] == "SYSTEM_MAINTENANCE"
    assert _count() == 0


def test_events_are_published_for_status_changes(client, auth, ctx, dev, project):
    from app.extensions import get_redis

    sub = get_redis().pubsub()
    sub.subscribe("events")
    sub.get_message(timeout=1)
    task = make_task(project, dev, "true")
    execute(client, auth(dev), task.id)
    client.post(f"/api/tasks/{task.id}/cancel", headers=auth(dev))
    seen = []
    msg = sub.get_message(timeout=1)
    while msg:
        if msg["type"] == "message":
            event = json.loads(msg["data"])
            seen.append((event["event"], event["data"].get("status")))
        msg = sub.get_message(timeout=0.3)
    sub.close()
    assert ("execution.updated", "queued") in seen
    assert ("execution.updated", "cancelled") in seen
    assert ("task.updated", "queued") in seen and ("task.updated", "cancelled") in seen


def test_unknown_and_foreign_executions(client, auth, ctx, dev, project, make_user):
    import uuid

    assert client.get(f"/api/executions/{uuid.uuid4()}", headers=auth(dev)).status_code == 404
    task = make_task(project, dev, "true")
    ex_id = execute(client, auth(dev), task.id).get_json()["data"]["execution_id"]
    other = make_user(role="developer")
    resp = client.get(f"/api/executions/{ex_id}", headers=auth(other))
    assert resp.status_code == 403
    listing = client.get(f"/api/tasks/{task.id}/executions", headers=auth(dev)).get_json()
    assert listing["data"]["total"] == 1 and listing["data"]["items"][0]["id"] == ex_id
