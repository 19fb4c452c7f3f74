"""The sessions page through the test client: list, create, settings, history, restore, delete."""

from __future__ import annotations

import uuid
from datetime import timedelta

from app.errors import iso
from app.extensions import db
from app.models.session import UserSession
from tests import factories
from tests.pages import login_client

page_client = login_client.page_client  # the fixture, shared by the 6A page tests


def _session(app, session_id) -> UserSession:
    with app.app_context():
        found = db.session.get(UserSession, session_id)
        db.session.expunge(found)
        return found


def _created(resp) -> uuid.UUID:
    assert resp.status_code == 204, resp.data[:800]
    return uuid.UUID(resp.headers["HX-Redirect"].rsplit("/", 1)[1])


def test_create_list_and_errors_in_place(app, page_client, developer):
    with app.app_context():
        project = factories.project(developer, name="Session home")
    client = page_client(developer)
    page = client.get("/sessions")
    assert page.status_code == 200 and b'id="session-create"' in page.data
    assert b"Session home" in page.data and b"No sessions" in page.data

    bad = client.hx_post("/sessions", {"project_id": str(project.id), "settings_json": "{x"})
    assert bad.status_code == 422 and b'id="session-settings-error"' in bad.data
    unknown = client.hx_post("/sessions", {"project_id": "nope"})
    assert b'id="session-project-error"' in unknown.data
    with app.app_context():
        assert db.session.query(UserSession).count() == 0

    session_id = _created(client.hx_post("/sessions", {
        "project_id": str(project.id), "settings_json": '{"auto_save": true}'}))
    stored = _session(app, session_id)
    assert stored.project_id == project.id and stored.settings == {"auto_save": True}
    listed = client.get("/sessions")
    assert f'id="session-{session_id}-row"'.encode() in listed.data
    assert b"Session home" in listed.data
    assert b"No sessions with this status" in client.hx_get("/sessions?status=expired").data


def test_settings_history_and_restore(app, page_client, viewer):
    client = page_client(viewer)                   # sessions need only `read`
    session_id = _created(client.hx_post("/sessions", {"settings_json": '{"theme": "dark"}'}))
    detail = client.get(f"/sessions/{session_id}")
    assert detail.status_code == 200 and b'id="session-history"' in detail.data
    assert b"created" in detail.data and b'id="session-restore-form"' in detail.data

    bad = client.hx_post(f"/sessions/{session_id}/settings", {"settings_json": "[]"})
    assert b'id="session-settings-error"' in bad.data
    saved = client.hx_post(f"/sessions/{session_id}/settings",
                           {"settings_json": '{"auto_save": false}'})
    assert b'id="session-notice"' in saved.data and b"settings changed" in saved.data
    assert _session(app, session_id).settings == {"auto_save": False}   # theme removed

    created_at = _session(app, session_id).created_at
    restored = client.hx_post(f"/sessions/{session_id}/restore", {
        "restore_point": iso(created_at), "include_settings": "1", "include_tasks": "1"})
    assert b"Restored from the state of" in restored.data and b"restored" in restored.data
    assert _session(app, session_id).settings == {"theme": "dark"}

    too_early = client.hx_post(f"/sessions/{session_id}/restore", {
        "restore_point": iso(created_at - timedelta(days=1)), "include_settings": "1"})
    assert b'id="session-restore-point-error"' in too_early.data
    nothing = client.hx_post(f"/sessions/{session_id}/restore", {
        "restore_point": iso(created_at)})
    assert b"nothing to restore" in nothing.data


def test_restore_point_is_read_in_the_viewers_time_zone(app, page_client, developer):
    with app.app_context():
        from app.services import users

        users.update_preferences(db.session.get(type(developer), developer.id),
                                 {"timezone": "Asia/Tokyo"})
    client = page_client(developer)
    session_id = _created(client.hx_post("/sessions", {"settings_json": '{"v": 1}'}))
    client.hx_post(f"/sessions/{session_id}/settings", {"settings_json": '{"v": 2}'})
    created_at = _session(app, session_id).created_at
    tokyo = (created_at + timedelta(hours=9)).strftime("%Y-%m-%dT%H:%M:%S.%f")
    client.hx_post(f"/sessions/{session_id}/restore", {
        "restore_point": tokyo, "include_settings": "1"})
    assert _session(app, session_id).settings == {"v": 1}


def test_delete_and_other_users_sessions(app, page_client, developer, make_user):
    client = page_client(developer)
    session_id = _created(client.hx_post("/sessions", {}))
    stranger = page_client(make_user())
    assert stranger.get(f"/sessions/{session_id}").status_code == 404
    assert stranger.hx_post(f"/sessions/{session_id}/delete").status_code == 404
    resp = client.hx_post(f"/sessions/{session_id}/delete")
    assert resp.headers["HX-Redirect"] == "/sessions"
    assert _session(app, session_id).deleted_at is not None
    assert client.get(f"/sessions/{session_id}").status_code == 404


def test_an_expired_session_reads_but_offers_no_changes(app, page_client, developer):
    client = page_client(developer)
    session_id = _created(client.hx_post("/sessions", {}))
    with app.app_context():
        found = db.session.get(UserSession, session_id)
        found.expires_at = found.created_at - timedelta(seconds=1)
        db.session.commit()
    page = client.get(f"/sessions/{session_id}")
    assert page.status_code == 200 and b"This session is expired" in page.data
    assert b'id="session-restore-form"' not in page.data
    refused = client.hx_post(f"/sessions/{session_id}/settings", {"settings_json": "{}"})
    assert b"expired" in refused.data
