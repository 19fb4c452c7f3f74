"""Every task.* webhook carries the reference's fields (issue 10, point 24): `data.task_id`,
`data.project_id` and `data.status`, whichever path caused the event — creation, an edit, a
bulk change, a dependency, a status set by hand, and a real run that completes or fails.
Checked on what a real worker really delivered to a local HTTP receiver."""

from __future__ import annotations

import json

import pytest

from app.models.task import TASK_STATUSES
from tests.live import wait_for

pytestmark = pytest.mark.slow
EVENTS = ["task.created", "task.updated", "task.completed", "task.failed"]


def _ok(resp, status=200):
    assert resp.status_code == status, resp.json
    return resp.json["data"]


def test_every_task_event_carries_task_id_project_id_and_status(
        app, client, auth, developer, receiver, start_worker, worker_env):
    headers = auth(developer)
    start_worker(env=dict(worker_env, WEBHOOK_BACKOFF_SECONDS="0.3", WEBHOOK_TIMEOUT="2"))
    _ok(client.post("/api/webhooks/", json={"url": receiver.url, "events": EVENTS},
                    headers=headers), 201)
    project = _ok(client.post("/api/projects/", json={"name": "Hooks"}, headers=headers), 201)

    def new_task(title, command):
        return _ok(client.post("/api/tasks/", json={
            "project_id": project["id"], "title": title, "executor": "shell",
            "command": command}, headers=headers), 201)["id"]

    good = new_task("Good", "echo fine")
    bad = new_task("Bad", "echo broken; exit 3")
    by_hand = new_task("By hand", "echo never")
    _ok(client.put(f"/api/tasks/{good}", json={"title": "Good one"}, headers=headers))
    _ok(client.post("/api/tasks/bulk", json={"operation": "add_tags", "task_ids": [good],
                                             "data": {"tags": ["hooks"]}}, headers=headers))
    _ok(client.post(f"/api/tasks/{bad}/dependencies", json={"depends_on_task_id": good},
                    headers=headers), 201)
    _ok(client.put(f"/api/tasks/{by_hand}", json={"status": "completed"}, headers=headers))
    _ok(client.post(f"/api/tasks/{good}/execute", json={"priority": "high"}, headers=headers))
    wait_for(lambda: client.get(f"/api/tasks/{good}", headers=headers).json["data"]["status"]
             == "completed", 30, 0.1, "the good run")
    _ok(client.post(f"/api/tasks/{bad}/execute", json={"priority": "high"}, headers=headers))

    def payloads():
        return [json.loads(r["body"]) for r in receiver.requests]

    def seen(event, task_id, **data):
        return any(p["event"] == event and p["data"].get("task_id") == task_id
                   and all(p["data"].get(k) == v for k, v in data.items()) for p in payloads())

    wanted = [("task.created", good, {"status": "pending"}),
              ("task.created", bad, {}), ("task.created", by_hand, {}),
              ("task.updated", good, {"title": "Good one", "changes": ["title"]}),
              ("task.updated", good, {"changes": ["tags"], "bulk": "add_tags"}),
              ("task.updated", bad, {"changes": ["dependencies"]}),
              ("task.updated", by_hand, {"status": "completed", "old_status": "pending"}),
              ("task.completed", by_hand, {"status": "completed"}),
              ("task.updated", good, {"status": "queued"}),
              ("task.updated", good, {"status": "running"}),
              ("task.completed", good, {"status": "completed"}),
              ("task.failed", bad, {"status": "failed"})]
    wait_for(lambda: all(seen(*w[:2], **w[2]) for w in wanted), 40, 0.1,
             "every expected delivery")
    ids = {good, bad, by_hand}
    for payload in payloads():
        data = payload["data"]
        assert list(data)[:3] == ["task_id", "project_id", "status"], payload
        assert data["task_id"] in ids and data["project_id"] == project["id"], payload
        assert data["status"] in TASK_STATUSES and "id" not in data, payload
        assert payload["event"] in EVENTS
    completed = next(p for p in payloads()
                     if p["event"] == "task.completed" and p["data"]["task_id"] == good)
    assert completed["data"]["duration"] is not None                 # HH:MM:SS, as shown
