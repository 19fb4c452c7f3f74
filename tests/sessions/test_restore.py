"""Snapshots on every change of state, and restore to the latest snapshot at or before a point
(settings and/or tasks as asked), recorded itself."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests import factories
from tests.live import clock_moves_on
from tests.sessions.test_sessions_api import create, parse


@pytest.fixture
def dev_headers(auth, developer):
    return auth(developer)


def run_task(app, sid, developer, title):
    """What `execute_task` over the session's socket records."""
    with app.app_context():
        from app.services import session_activity

        project = factories.project(developer)
        task = factories.task(project, developer, title=title)
        session_activity.record_task_run(uuid.UUID(sid), developer.id, task.id, None)
        return str(task.id)


def snapshots(app, sid):
    with app.app_context():
        from sqlalchemy import select

        from app.extensions import db
        from app.models.session import SessionSnapshot

        return [(s.reason, s.settings, s.state) for s in db.session.scalars(
            select(SessionSnapshot).where(SessionSnapshot.session_id == uuid.UUID(sid))
            .order_by(SessionSnapshot.id))]


def test_every_change_of_state_is_a_snapshot(client, app, dev_headers, developer):
    sid = create(client, dev_headers, settings={"theme": "dark"})["session_id"]
    client.put(f"/api/sessions/{sid}", json={"settings": {"theme": "light"}},
               headers=dev_headers)
    task_id = run_task(app, sid, developer, "First")
    with app.app_context():
        from app.services import session_activity

        session_activity.record_command_run(uuid.UUID(sid), developer.id, uuid.uuid4(), "ls -la")
    reasons = [s[0] for s in snapshots(app, sid)]
    assert reasons == ["created", "settings_changed", "task_executed", "command_run"]
    detail = client.get(f"/api/sessions/{sid}", headers=dev_headers).json["data"]
    assert [t["task_id"] for t in detail["state"]["tasks"]] == [task_id]
    assert detail["state"]["tasks"][0]["title"] == "First"
    assert detail["state"]["tasks"][0]["status"] == "pending"
    assert detail["state"]["commands"][0]["command"] == "ls -la"


def test_restore_settings_and_tasks_to_a_point(client, app, dev_headers, developer):
    created = create(client, dev_headers, settings={"theme": "dark", "auto_save": True})
    sid = created["session_id"]
    first = run_task(app, sid, developer, "First")
    clock_moves_on()  # consecutive changes get distinct timestamps
    point = client.get(f"/api/sessions/{sid}", headers=dev_headers).json["data"]
    restore_point = point["last_accessed"]
    clock_moves_on()  # consecutive changes get distinct timestamps
    client.put(f"/api/sessions/{sid}", json={"settings": {"theme": "light"}},
               headers=dev_headers)
    run_task(app, sid, developer, "Second")
    resp = client.post(f"/api/sessions/{sid}/restore", headers=dev_headers, json={
        "restore_point": restore_point, "include_tasks": True, "include_settings": True})
    assert resp.status_code == 200, resp.json
    data = resp.json["data"]
    assert data["settings"] == {"theme": "dark", "auto_save": True}
    assert [t["task_id"] for t in data["state"]["tasks"]] == [first]
    assert data["restored_from"]["snapshot_reason"] == "task_executed"
    assert parse(data["restored_from"]["snapshot_at"]) <= parse(restore_point)
    history = client.get(f"/api/sessions/{sid}/history", headers=dev_headers).json["data"]
    restored = history["history"][-1]
    assert restored["action"] == "restored"
    assert restored["details"]["include_tasks"] is True
    assert snapshots(app, sid)[-1][0] == "restored"


def test_restore_only_what_is_asked(client, app, dev_headers, developer):
    sid = create(client, dev_headers, settings={"theme": "dark"})["session_id"]
    point = client.get(f"/api/sessions/{sid}", headers=dev_headers).json["data"]["last_accessed"]
    clock_moves_on()  # consecutive changes get distinct timestamps
    client.put(f"/api/sessions/{sid}", json={"settings": {"theme": "light"}},
               headers=dev_headers)
    task_id = run_task(app, sid, developer, "Kept")
    data = client.post(f"/api/sessions/{sid}/restore", headers=dev_headers, json={
        "restore_point": point, "include_tasks": False, "include_settings": True}).json["data"]
    assert data["settings"] == {"theme": "dark"}
    assert [t["task_id"] for t in data["state"]["tasks"]] == [task_id]
    clock_moves_on()  # consecutive changes get distinct timestamps
    data = client.post(f"/api/sessions/{sid}/restore", headers=dev_headers, json={
        "restore_point": point, "include_tasks": True, "include_settings": False}).json["data"]
    assert data["settings"] == {"theme": "dark"} and data["state"]["tasks"] == []


def test_restore_point_rules(client, dev_headers):
    created = create(client, dev_headers)
    sid = created["session_id"]
    before = (parse(created["created_at"]) - timedelta(seconds=5)).isoformat()
    cases = [({"restore_point": before}, "VALIDATION_ERROR", "restore_point"),
             ({}, "VALIDATION_REQUIRED_FIELD", "restore_point"),
             ({"restore_point": "yesterday"}, "VALIDATION_INVALID_FORMAT", "restore_point"),
             ({"restore_point": created["created_at"], "include_tasks": False,
               "include_settings": False}, "VALIDATION_ERROR", "include_settings")]
    for body, code, field in cases:
        resp = client.post(f"/api/sessions/{sid}/restore", json=body, headers=dev_headers)
        assert resp.status_code == 422, (body, resp.json)
        assert resp.json["error"]["code"] == code
        assert resp.json["error"]["details"]["field"] == field
    ok = client.post(f"/api/sessions/{sid}/restore", headers=dev_headers,
                     json={"restore_point": created["created_at"]})
    assert ok.status_code == 200
    assert ok.json["data"]["restored_from"]["snapshot_reason"] == "created"
