"""The webhooks page through the test client: create (secret once), list, toggle, edit,
deliveries with a test ping, delete, and who may do what."""

from __future__ import annotations

import re
import uuid

from app.extensions import db
from app.models.webhook import Webhook, WebhookDelivery
from tests.pages import login_client

page_client = login_client.page_client  # the fixture, shared by the 6A page tests


def _hook(app, webhook_id) -> Webhook:
    with app.app_context():
        found = db.session.get(Webhook, webhook_id)
        db.session.expunge(found)
        return found


def _only_hook_id(app) -> uuid.UUID:
    with app.app_context():
        return db.session.query(Webhook).one().id


def test_create_shows_the_secret_once_and_errors_inline(app, page_client, developer):
    client = page_client(developer)
    page = client.get("/webhooks")
    assert b'id="webhook-create"' in page.data and b"task.completed" in page.data

    for form, element in (({"url": "ftp://x.test/h", "events": ["task.created"]}, "webhook-url"),
                          ({"url": "https://x.test/h"}, "webhook-events"),
                          ({"url": "https://x.test/h", "events": ["task.created"],
                            "secret": "short"}, "webhook-new-secret")):
        resp = client.hx_post("/webhooks", form)
        assert resp.status_code == 422 and f'id="{element}-error"'.encode() in resp.data, element
    with app.app_context():
        assert db.session.query(Webhook).count() == 0

    created = client.hx_post("/webhooks", {"url": "https://hooks.example/ci",
                                           "events": ["task.completed", "task.failed"],
                                           "description": "CI", "active": "1"})
    assert created.status_code == 200 and b'id="webhook-secret-box"' in created.data
    secret = re.search(rb'id="webhook-secret" class="mono" readonly value="([^"]+)"',
                       created.data).group(1).decode()
    hook = _hook(app, _only_hook_id(app))
    assert hook.secret == secret and len(secret) >= 16
    assert hook.events == ["task.completed", "task.failed"] and hook.active
    for later in (client.get("/webhooks"), client.get(f"/webhooks/{hook.id}")):
        assert secret.encode() not in later.data          # never shown again


def test_toggle_edit_and_replace_the_secret(app, page_client, developer):
    client = page_client(developer)
    client.hx_post("/webhooks", {"url": "https://a.example/h", "events": ["task.created"],
                                 "active": "1"})
    hook_id = _only_hook_id(app)
    listed = client.hx_post(f"/webhooks/{hook_id}/deactivate")
    assert f'id="webhook-{hook_id}-toggle">Activate'.encode() in listed.data
    assert not _hook(app, hook_id).active

    detail = client.get(f"/webhooks/{hook_id}")
    assert b'id="webhook-edit"' in detail.data and b'id="webhook-deliveries"' in detail.data
    bad = client.hx_post(f"/webhooks/{hook_id}", {"url": "notaurl", "events": ["task.created"]})
    assert bad.status_code == 422 and b'id="webhook-edit-url-error"' in bad.data
    saved = client.hx_post(f"/webhooks/{hook_id}", {
        "url": "https://b.example/h", "events": ["project.created"], "active": "1",
        "secret": "a-brand-new-secret-value"})
    assert b'id="webhook-saved"' in saved.data and b"a-brand-new-secret-value" in saved.data
    hook = _hook(app, hook_id)
    assert (hook.url, hook.events, hook.active) == ("https://b.example/h",
                                                    ["project.created"], True)
    assert hook.secret == "a-brand-new-secret-value"


def test_test_ping_shows_a_pending_delivery_that_polls(app, page_client, developer):
    client = page_client(developer)
    client.hx_post("/webhooks", {"url": "http://127.0.0.1:9/h", "events": ["task.created"],
                                 "active": "1"})
    hook_id = _only_hook_id(app)
    assert b"No deliveries" in client.get(f"/webhooks/{hook_id}").data
    sent = client.hx_post(f"/webhooks/{hook_id}/test")
    assert b'id="webhook-test-sent"' in sent.data and b"<code>ping</code>" in sent.data
    assert b'hx-trigger="every 2s"' in sent.data           # refreshes while pending
    with app.app_context():
        delivery = db.session.query(WebhookDelivery).one()
        assert (delivery.event_type, delivery.status) == ("ping", "pending")
    filtered = client.hx_get(f"/webhooks/{hook_id}/deliveries?status=succeeded")
    assert b"No deliveries with this status" in filtered.data
    assert b'hx-trigger="every 2s"' not in filtered.data


def test_delete_and_permissions(app, page_client, developer, viewer, make_user):
    client = page_client(developer)
    client.hx_post("/webhooks", {"url": "https://c.example/h", "events": ["task.created"]})
    hook_id = _only_hook_id(app)
    watcher = page_client(viewer)
    assert b'id="webhook-create"' not in watcher.get("/webhooks").data
    assert watcher.hx_post("/webhooks", {"url": "https://d.example/h",
                                         "events": ["task.created"]}).status_code == 403
    stranger = page_client(make_user())
    assert stranger.get(f"/webhooks/{hook_id}").status_code == 404
    assert stranger.hx_post(f"/webhooks/{hook_id}/delete").status_code == 404
    assert b"c.example" not in stranger.get("/webhooks").data
    resp = client.hx_post(f"/webhooks/{hook_id}/delete")
    assert resp.headers["HX-Redirect"] == "/webhooks"
    assert _hook(app, hook_id).deleted_at is not None
    assert client.get(f"/webhooks/{hook_id}").status_code == 404
