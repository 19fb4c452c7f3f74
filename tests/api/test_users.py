"""`GET /api/users/profile` and `PUT /api/users/preferences`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.errors import utcnow
from app.extensions import db
from app.models import AuditLog, Project, Task, UserSession


def test_profile_shape(client, developer, auth):
    data = client.get("/api/users/profile", headers=auth(developer)).json["data"]
    assert data["id"] == str(developer.id)
    assert data["username"] == developer.username
    assert data["role"] == "developer"
    assert data["permissions"] == ["read", "write", "execute"]
    assert data["preferences"]["theme"] == "light"
    assert data["preferences"]["timezone"] == "UTC"
    assert data["statistics"] == {"tasks_created": 0, "tasks_completed": 0,
                                  "projects_created": 0, "total_login_time": "00:00:00"}


def test_statistics_are_computed_from_data(client, app, developer, make_user, auth):
    other = make_user()
    now = utcnow()
    with app.app_context():
        mine = Project(name="p", created_by=developer.id)
        theirs = Project(name="q", created_by=other.id)
        gone = Project(name="r", created_by=developer.id, deleted_at=now)
        db.session.add_all([mine, theirs, gone])
        db.session.flush()
        db.session.add_all([
            Task(project_id=mine.id, title="a", created_by=developer.id, status="completed"),
            Task(project_id=mine.id, title="b", created_by=developer.id),
            Task(project_id=theirs.id, title="c", created_by=other.id, status="completed",
                 assigned_to=developer.id),
            Task(project_id=theirs.id, title="d", created_by=developer.id, status="completed",
                 assigned_to=other.id),
            Task(project_id=mine.id, title="e", created_by=developer.id, deleted_at=now),
            UserSession(user_id=developer.id, created_at=now - timedelta(hours=2),
                        last_accessed=now - timedelta(minutes=30), expires_at=now),
            UserSession(user_id=developer.id, created_at=now - timedelta(minutes=10),
                        last_accessed=now - timedelta(minutes=5), expires_at=now),
        ])
        db.session.commit()
    stats = client.get("/api/users/profile", headers=auth(developer)).json["data"]["statistics"]
    assert stats["tasks_created"] == 3          # a, b, d (e is deleted)
    assert stats["tasks_completed"] == 2        # a (mine, unassigned) and c (assigned to me)
    assert stats["projects_created"] == 1       # the deleted one does not count
    assert stats["total_login_time"] == "01:35:00"


def test_preferences_update_merges_and_is_recorded(client, app, developer, auth):
    headers = auth(developer)
    resp = client.put("/api/users/preferences", headers=headers, json={
        "theme": "dark", "timezone": "America/New_York",
        "notifications": {"email": False},
        "dashboard_layout": {"widgets": ["tasks", "queues"], "columns": 2}})
    assert resp.status_code == 200
    prefs = resp.json["data"]["preferences"]
    assert prefs["theme"] == "dark"
    assert prefs["timezone"] == "America/New_York"
    assert prefs["notifications"] == {"email": False, "push": False, "task_updates": True,
                                      "project_updates": True}
    assert prefs["dashboard_layout"] == {"widgets": ["tasks", "queues"], "columns": 2}
    assert resp.json["data"]["updated_at"].endswith("Z")
    # Partial update keeps the rest.
    again = client.put("/api/users/preferences", headers=headers, json={"language": "pt-BR"})
    assert again.json["data"]["preferences"]["theme"] == "dark"
    with app.app_context():
        actions = [a.action for a in db.session.query(AuditLog).filter_by(entity_id=developer.id)]
    assert actions.count("preferences_updated") == 2


def test_viewer_may_change_own_preferences(client, viewer, auth):
    resp = client.put("/api/users/preferences", headers=auth(viewer), json={"theme": "dark"})
    assert resp.status_code == 200


@pytest.mark.parametrize("body,field,code", [
    ({"timezone": "Mars/Olympus_Mons"}, "timezone", "VALIDATION_INVALID_FORMAT"),
    ({"timezone": "../../etc/passwd"}, "timezone", "VALIDATION_INVALID_FORMAT"),
    ({"theme": "purple"}, "theme", "VALIDATION_ERROR"),
    ({"language": "english"}, "language", "VALIDATION_INVALID_FORMAT"),
    ({"notifications": {"email": "yes please"}}, "notifications.email", "VALIDATION_ERROR"),
    ({"notifications": {"sms": True}}, "notifications.sms", "VALIDATION_ERROR"),
    ({"dashboard_layout": {"columns": 0}}, "dashboard_layout.columns", "VALIDATION_ERROR"),
    ({"dashboard_layout": {"widgets": ["clock"]}}, "dashboard_layout.widgets.0",
     "VALIDATION_ERROR"),
    ({"colour": "red"}, "colour", "VALIDATION_ERROR"),
])
def test_bad_preferences_are_422_and_change_nothing(client, developer, auth, body, field, code):
    headers = auth(developer)
    resp = client.put("/api/users/preferences", headers=headers, json=body)
    assert resp.status_code == 422
    assert resp.json["error"]["code"] == code
    assert resp.json["error"]["details"]["field"] == field
    prefs = client.get("/api/users/profile", headers=headers).json["data"]["preferences"]
    assert prefs["theme"] == "light" and prefs["timezone"] == "UTC"
