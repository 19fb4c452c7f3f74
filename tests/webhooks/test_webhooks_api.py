"""`/api/webhooks` management: validation, the secret shown once, ownership (CONTRACT §7)."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def dev(auth, developer):
    return auth(developer)


def create(client, headers, **body):
    body.setdefault("url", "https://example.test/hook")
    body.setdefault("events", ["task.created"])
    resp = client.post("/api/webhooks/", json=body, headers=headers)
    assert resp.status_code == 201, resp.json
    return resp.json["data"]


def test_create_shows_the_secret_once(client, dev, developer):
    data = create(client, dev, events=["task.created", "task.completed"],
                  description="CI trigger")
    assert len(data["secret"]) >= 32
    assert data["events"] == ["task.created", "task.completed"]
    assert data["active"] is True and data["user_id"] == str(developer.id)
    again = client.get(f"/api/webhooks/{data['id']}", headers=dev).json["data"]
    assert "secret" not in again or again["secret"] is None
    mine = create(client, dev, secret="s" * 20)
    assert mine["secret"] == "s" * 20


@pytest.mark.parametrize("body, code, field", [
    ({"url": "ftp://example.test/x"}, "VALIDATION_INVALID_FORMAT", "url"),
    ({"url": "file:///etc/passwd"}, "VALIDATION_INVALID_FORMAT", "url"),
    ({"url": "http://"}, "VALIDATION_INVALID_FORMAT", "url"),
    ({"url": "http://example.test:99999/"}, "VALIDATION_INVALID_FORMAT", "url"),
    ({"events": []}, "VALIDATION_VALUE_TOO_SHORT", "events"),
    ({"events": ["task.exploded"]}, "VALIDATION_ERROR", "events.0"),
    ({"secret": "short"}, "VALIDATION_VALUE_TOO_SHORT", "secret"),
    ({"colour": "red"}, "VALIDATION_ERROR", "colour"),
])
def test_create_validation(client, dev, body, code, field):
    payload = {"url": "https://example.test/hook", "events": ["task.created"], **body}
    resp = client.post("/api/webhooks/", json=payload, headers=dev)
    assert resp.status_code == 422, resp.json
    assert resp.json["error"]["code"] == code
    assert resp.json["error"]["details"]["field"] == field


def test_viewers_cannot_create(client, auth, viewer):
    resp = client.post("/api/webhooks/", headers=auth(viewer),
                       json={"url": "https://x.test/", "events": ["task.created"]})
    assert resp.status_code == 403


def test_owner_admin_and_others(client, dev, auth, admin, make_user):
    hook = create(client, dev)
    other = auth(make_user())
    create(client, other)
    for method in ("get", "put", "delete"):
        resp = getattr(client, method)(f"/api/webhooks/{hook['id']}", headers=other,
                                       json={"active": False} if method == "put" else None)
        assert resp.status_code == 404 and resp.json["error"]["code"] == "WEBHOOK_NOT_FOUND"
    assert client.get(f"/api/webhooks/{uuid.uuid4()}/deliveries", headers=dev).status_code == 404
    assert client.get("/api/webhooks/", headers=dev).json["data"]["total"] == 1
    assert client.get("/api/webhooks/", headers=auth(admin)).json["data"]["total"] == 2
    assert client.get(f"/api/webhooks/{hook['id']}", headers=auth(admin)).status_code == 200


def test_update_and_delete(client, dev, app):
    hook = create(client, dev)
    resp = client.put(f"/api/webhooks/{hook['id']}", headers=dev,
                      json={"events": ["task.failed"], "active": False,
                            "url": "http://example.test/other"})
    assert resp.status_code == 200
    data = resp.json["data"]
    assert data["events"] == ["task.failed"] and data["active"] is False
    assert data["url"] == "http://example.test/other" and data.get("secret") is None
    rotated = client.put(f"/api/webhooks/{hook['id']}", headers=dev, json={"secret": "n" * 24})
    assert rotated.json["data"]["secret"] == "n" * 24
    bad = client.put(f"/api/webhooks/{hook['id']}", headers=dev, json={"url": "gopher://x"})
    assert bad.status_code == 422
    assert client.get("/api/webhooks/?active=false", headers=dev).json["data"]["total"] == 1
    with app.app_context():
        from app.services import audit

        entries = audit.history("webhook", uuid.UUID(hook["id"]))
        assert "n" * 24 not in str([e.new_value for e in entries])  # secrets stay out of it
    assert client.delete(f"/api/webhooks/{hook['id']}", headers=dev).status_code == 200
    assert client.get(f"/api/webhooks/{hook['id']}", headers=dev).status_code == 404
    assert client.get("/api/webhooks/", headers=dev).json["data"]["total"] == 0
