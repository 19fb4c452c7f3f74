"""`/api/sessions`: lifecycle, ownership, expiry, history, snapshots and restore."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from tests import factories
from tests.live import clock_moves_on, wait_for


def parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


@pytest.fixture
def dev_headers(auth, developer):
    return auth(developer)


@pytest.fixture
def project(app, developer):
    with app.app_context():
        return factories.project(developer)


def create(client, headers, **body):
    resp = client.post("/api/sessions/", json=body, headers=headers)
    assert resp.status_code == 201, resp.json
    return resp.json["data"]


def test_create_returns_the_reference_fields(client, dev_headers, developer, project):
    data = create(client, dev_headers, project_id=str(project.id),
                  settings={"theme": "dark", "auto_save": True, "notifications": True})
    assert set(data) == {"session_id", "project_id", "user_id", "status", "created_at",
                         "last_accessed", "expires_at", "settings"}
    assert data["status"] == "active" and data["user_id"] == str(developer.id)
    assert data["project_id"] == str(project.id)
    assert data["settings"] == {"theme": "dark", "auto_save": True, "notifications": True}
    assert parse(data["expires_at"]) - parse(data["created_at"]) == timedelta(hours=2)
    assert data["last_accessed"] == data["created_at"]


def test_create_validation_and_project_access(client, dev_headers, make_user, app):
    stranger = make_user()
    with app.app_context():
        theirs = factories.project(stranger)
    cases = [({"settings": ["x"]}, 422, "VALIDATION_ERROR"),
             ({"colour": "red"}, 422, "VALIDATION_ERROR"),
             ({"project_id": "nope"}, 422, "VALIDATION_INVALID_FORMAT"),
             ({"project_id": str(uuid.uuid4())}, 404, "PROJECT_NOT_FOUND"),
             ({"project_id": str(theirs.id)}, 403, "PROJECT_ACCESS_DENIED"),
             ({"settings": {"blob": "x" * 11000}}, 422, "VALIDATION_VALUE_TOO_LONG")]
    for body, status, code in cases:
        resp = client.post("/api/sessions/", json=body, headers=dev_headers)
        assert resp.status_code == status, (body, resp.json)
        assert resp.json["error"]["code"] == code, (body, resp.json)
    assert client.post("/api/sessions/", json={}).status_code == 401


def test_viewers_have_sessions_too(client, auth, viewer):
    assert create(client, auth(viewer))["user_id"] == str(viewer.id)


def test_list_filters_and_project_names(client, dev_headers, auth, make_user, project, app,
                                        monkeypatch):
    a = create(client, dev_headers, project_id=str(project.id))
    b = create(client, dev_headers)
    create(client, auth(make_user()))  # someone else's: never listed
    client.delete(f"/api/sessions/{b['session_id']}", headers=dev_headers)
    c = create(client, dev_headers)
    with app.app_context():
        from app.extensions import db
        from app.models.session import UserSession

        db.session.get(UserSession, uuid.UUID(c["session_id"])).expires_at = (
            datetime.now().astimezone() - timedelta(seconds=1))
        db.session.commit()
    listed = client.get("/api/sessions/", headers=dev_headers).json["data"]
    assert listed["total"] == 2
    by_id = {s["session_id"]: s for s in listed["sessions"]}
    assert by_id[a["session_id"]]["project_name"] == project.name
    assert by_id[c["session_id"]]["status"] == "expired"
    for status, expected in [("active", [a]), ("expired", [c])]:
        got = client.get(f"/api/sessions/?status={status}", headers=dev_headers).json["data"]
        assert [s["session_id"] for s in got["sessions"]] == [x["session_id"] for x in expected]
    got = client.get(f"/api/sessions/?project_id={project.id}", headers=dev_headers).json
    assert [s["session_id"] for s in got["data"]["sessions"]] == [a["session_id"]]
    bad = client.get("/api/sessions/?status=sleeping", headers=dev_headers)
    assert bad.status_code == 422


def test_get_keeps_the_session_alive_for_its_owner(client, dev_headers, auth, admin):
    data = create(client, dev_headers)
    clock_moves_on()  # timestamps must differ
    got = client.get(f"/api/sessions/{data['session_id']}", headers=dev_headers).json["data"]
    assert parse(got["last_accessed"]) > parse(data["last_accessed"])
    assert parse(got["expires_at"]) > parse(data["expires_at"])
    assert got["state"] == {"tasks": [], "commands": []} and got["history_count"] == 1
    seen_by_admin = client.get(f"/api/sessions/{data['session_id']}", headers=auth(admin))
    assert seen_by_admin.status_code == 200
    assert seen_by_admin.json["data"]["last_accessed"] == got["last_accessed"]


def test_other_users_and_unknown_ids(client, dev_headers, auth, make_user):
    data = create(client, dev_headers)
    other = auth(make_user())
    for method, suffix in [("get", ""), ("put", ""), ("delete", ""), ("get", "/history"),
                           ("post", "/restore")]:
        body = {"settings": {}} if method == "put" else (
            {"restore_point": "2030-01-01T00:00:00Z"} if method == "post" else None)
        for sid, headers in [(data["session_id"], other), (str(uuid.uuid4()), dev_headers),
                             ("not-a-uuid", dev_headers)]:
            resp = getattr(client, method)(f"/api/sessions/{sid}{suffix}", json=body,
                                           headers=headers)
            assert resp.status_code == 404, (method, suffix, resp.json)
            assert resp.json["error"]["code"] == "SESSION_NOT_FOUND"


def test_update_merges_settings_and_records_it(client, dev_headers, developer, app):
    data = create(client, dev_headers, settings={"theme": "dark", "auto_save": True,
                                                  "notifications": True})
    sid = data["session_id"]
    resp = client.put(f"/api/sessions/{sid}", json={"settings": {"theme": "light",
                                                                 "auto_save": False,
                                                                 "notifications": None}},
                      headers=dev_headers)
    assert resp.status_code == 200
    assert resp.json["data"]["settings"] == {"theme": "light", "auto_save": False}
    same = client.put(f"/api/sessions/{sid}", json={"settings": {"theme": "light"}},
                      headers=dev_headers)
    assert same.status_code == 200
    history = client.get(f"/api/sessions/{sid}/history", headers=dev_headers).json["data"]
    assert [h["action"] for h in history["history"]] == ["created", "settings_changed"]
    change = history["history"][1]
    assert change["details"]["changed"] == ["auto_save", "notifications", "theme"]
    assert change["details"]["old"]["theme"] == "dark"
    assert change["user_id"] == str(developer.id) and change["user_name"]
    with app.app_context():
        from app.services import audit

        actions = [e.action for e in audit.history("session", uuid.UUID(sid))]
    assert actions == ["created", "updated"]
    for body in [{}, {"settings": "dark"}, {"settings": {}, "theme": 1}]:
        assert client.put(f"/api/sessions/{sid}", json=body,
                          headers=dev_headers).status_code == 422


def test_delete_closes_it(client, dev_headers):
    sid = create(client, dev_headers)["session_id"]
    resp = client.delete(f"/api/sessions/{sid}", headers=dev_headers)
    assert resp.status_code == 200 and resp.json["data"]["deleted_at"]
    assert client.get(f"/api/sessions/{sid}", headers=dev_headers).status_code == 404
    closed = client.get("/api/sessions/?status=closed", headers=dev_headers).json["data"]
    assert closed["total"] == 0  # deleted sessions are gone from lists too


def test_expiry_refuses_changes_and_sockets(client, dev_headers, app, monkeypatch, connect,
                                            developer, token):
    monkeypatch.setitem(app.config, "SESSION_TTL_SECONDS", 1)
    sid = create(client, dev_headers)["session_id"]
    data = client.get(f"/api/sessions/{sid}", headers=dev_headers).json["data"]
    assert parse(data["expires_at"]) - parse(data["last_accessed"]) == timedelta(seconds=1)
    # Listing does not count as use (reading the session itself would keep it alive).
    wait_for(lambda: client.get("/api/sessions/?status=expired", headers=dev_headers)
             .json["data"]["total"] == 1, 5, 0.1, "the session to expire")
    resp = client.put(f"/api/sessions/{sid}", json={"settings": {"a": 1}}, headers=dev_headers)
    assert resp.status_code == 409 and resp.json["error"]["code"] == "SESSION_EXPIRED"
    ws = connect(developer, sid, auth=False)
    ws.send(type="authenticate", token=token(developer))
    assert ws.expect("error")["data"]["code"] == "SESSION_EXPIRED"
    assert ws.closed()
    history = client.get(f"/api/sessions/{sid}/history", headers=dev_headers).json["data"]
    assert [h["action"] for h in history["history"]] == ["created", "expired"]


def test_an_open_socket_keeps_its_session_alive(client, dev_headers, app, monkeypatch,
                                                connect, developer):
    from app.realtime import housekeeping
    from app.realtime.hub import get_hub

    sid = create(client, dev_headers)["session_id"]
    before = client.get(f"/api/sessions/{sid}", headers=dev_headers).json["data"]
    connect(developer, sid)
    with app.app_context():
        housekeeping.keep_sessions_alive(get_hub(app))
    after = client.get(f"/api/sessions/{sid}", headers=dev_headers).json["data"]
    assert parse(after["expires_at"]) > parse(before["expires_at"])


def test_socket_connects_and_disconnects_are_history(client, dev_headers, connect, developer):
    sid = create(client, dev_headers)["session_id"]
    ws = connect(developer, sid)
    ws.close()

    def actions():
        data = client.get(f"/api/sessions/{sid}/history", headers=dev_headers).json["data"]
        return [h["action"] for h in data["history"]]

    wait_for(lambda: actions() == ["created", "connected", "disconnected"], 5,
             message="the disconnect to be recorded")
    data = client.get(f"/api/sessions/{sid}/history?order=desc&page_size=1",
                      headers=dev_headers).json["data"]
    assert data["total"] == 3 and data["has_next"]
    assert data["history"][0]["details"]["duration_seconds"] >= 0
