"""Cancel (queued and running), manual retry, automatic retries, and the 409s of execute."""

from __future__ import annotations

import pytest

from tests.jobs.fixtures import (
    execute,
    executions_of,
    get_execution,
    make_task,
    marker,
    processes_with,
    stdout_text,
    wait_final,
)
from tests.live import wait_for

pytestmark = pytest.mark.slow


def test_cancel_running_leaves_no_process_behind(client, auth, dev, project, workers):
    workers(1)
    tag = marker()
    task = make_task(project, dev, f"sh -c 'sleep {tag} & sleep {tag}'")
    ex_id = execute(client, auth(dev), task.id).get_json()["data"]["execution_id"]
    wait_for(lambda: len(processes_with(tag)) >= 2, 10, message="both sleeps to start")
    wait_for(lambda: get_execution(client, auth(dev), ex_id)["status"] == "running", 10,
             message="the execution to be running")
    resp = client.post(f"/api/tasks/{task.id}/cancel", json={"reason": "Requirements changed"},
                       headers=auth(dev))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()["data"]
    assert body["status"] == "cancelled" and body["reason"] == "Requirements changed"
    assert body["cancelled_at"]
    data = get_execution(client, auth(dev), ex_id)
    assert data["status"] == "cancelled" and data["exit_code"] in (-15, -9)
    assert data["cancel_reason"] == "Requirements changed"
    wait_for(lambda: not processes_with(tag), 5, message="every sleep to be gone")
    history = client.get(f"/api/tasks/{task.id}/history", headers=auth(dev)).get_json()["data"]
    assert any(h.get("details", {}).get("new_value") == "cancelled"
               or h.get("new_value") == "cancelled" for h in history["history"])


def test_cancel_queued_removes_it_from_the_queue(client, auth, ctx, dev, project):
    from rq import Queue

    from app.extensions import get_redis

    task = make_task(project, dev, "echo never")
    ex_id = execute(client, auth(dev), task.id).get_json()["data"]["execution_id"]
    assert Queue("normal", connection=get_redis()).count == 1
    resp = client.post(f"/api/tasks/{task.id}/cancel", headers=auth(dev))
    assert resp.status_code == 200 and resp.get_json()["data"]["status"] == "cancelled"
    assert Queue("normal", connection=get_redis()).count == 0
    assert get_execution(client, auth(dev), ex_id)["status"] == "cancelled"
    again = client.post(f"/api/tasks/{task.id}/cancel", headers=auth(dev))
    assert again.status_code == 409


def test_execute_conflicts(client, auth, ctx, dev, project):
    first = make_task(project, dev, "true")
    blocked = make_task(project, dev, "true")
    dep = client.post(f"/api/tasks/{blocked.id}/dependencies", headers=auth(dev),
                      json={"depends_on_task_id": str(first.id), "dependency_type": "blocks"})
    assert dep.status_code in (200, 201), dep.get_json()
    resp = execute(client, auth(dev), blocked.id)
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "TASK_DEPENDENCY_NOT_MET"
    assert execute(client, auth(dev), first.id).status_code == 200
    again = execute(client, auth(dev), first.id)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == \
        "TASK_ALREADY_RUNNING"
    assert client.post(f"/api/tasks/{first.id}/retry", headers=auth(dev)).status_code == 409


def test_manual_retry_creates_a_new_attempt(client, auth, dev, project, workers):
    workers(1)
    task = make_task(project, dev, "test -f ok.txt && echo fine || { touch ok.txt; exit 1; }")
    ex1 = execute(client, auth(dev), task.id).get_json()["data"]["execution_id"]
    assert wait_final(client, auth(dev), ex1)["status"] == "failed"
    resp = client.post(f"/api/tasks/{task.id}/retry", headers=auth(dev))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()["data"]
    assert body["retry_attempt"] == 2 and body["status"] == "queued"
    data = wait_final(client, auth(dev), body["execution_id"])
    assert data["status"] == "completed" and data["attempt"] == 2 and data["retry_of"] == ex1
    assert stdout_text(data) == "fine\n"
    again = client.post(f"/api/tasks/{task.id}/retry", headers=auth(dev))
    assert again.status_code == 409  # completed tasks are not retried


def test_automatic_retries_with_backoff(client, auth, dev, project, workers):
    workers(1)
    task = make_task(project, dev, "echo attempt >> tries.txt; exit 7")
    execute(client, auth(dev), task.id, options={"retry_attempts": 2})

    def three_done():
        items = executions_of(client, auth(dev), task.id)
        return items if len(items) == 3 and all(i["status"] == "failed" for i in items) \
            else None

    items = wait_for(three_done, 30, 0.1, "three failed attempts")
    assert [i["attempt"] for i in items] == [1, 2, 3]
    assert items[1]["retry_of"] == items[0]["id"] and items[2]["retry_of"] == items[1]["id"]
    task_data = client.get(f"/api/tasks/{task.id}", headers=auth(dev)).get_json()["data"]
    assert task_data["status"] == "failed"
    from app.services import workspace

    assert (workspace.project_dir(project.id) / "tries.txt").read_text().count("attempt") == 3
