"""Webhook delivery by a real worker to a real local receiver: the payload and its HMAC
signature over the exact bytes, retries with backoff, giving up, a hanging receiver cut off,
the test ping, and who receives what."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from tests import factories
from tests.live import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def dev(auth, developer):
    return auth(developer)


def subscribe(client, headers, url, events, **extra):
    resp = client.post("/api/webhooks/", json={"url": url, "events": events, **extra},
                       headers=headers)
    assert resp.status_code == 201, resp.json
    return resp.json["data"]


def deliveries(client, headers, hook_id):
    return client.get(f"/api/webhooks/{hook_id}/deliveries", headers=headers).json["data"]


def make_task(app, user, project=None, **kwargs):
    with app.app_context():
        project = project or factories.project(user)
        return factories.task(project, user, **kwargs)


def test_signed_delivery_of_an_event(app, client, dev, developer, receiver, hook_worker):
    hook_worker()
    hook = subscribe(client, dev, receiver.url, ["task.created", "task.completed"])
    task = make_task(app, developer, title="Ship it")
    wait_for(lambda: receiver.requests, 15, message="the delivery")
    request = receiver.requests[0]
    body, headers = request["body"], request["headers"]
    expected = "sha256=" + hmac.new(hook["secret"].encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Signature-256"] == expected
    assert headers["X-Event-Type"] == "task.created"
    assert headers["Content-Type"] == "application/json"
    payload = json.loads(body)
    assert set(payload) == {"event", "timestamp", "data", "webhook_id", "delivery_id"}
    assert payload["event"] == "task.created" and payload["webhook_id"] == hook["id"]
    assert payload["delivery_id"] == headers["X-Delivery-ID"]
    assert payload["data"]["task_id"] == str(task.id) and payload["data"]["title"] == "Ship it"
    assert request["path"] == "/hook"

    def succeeded():
        items = deliveries(client, dev, hook["id"])["items"]
        return items and items[0]["status"] == "succeeded" and items[0]

    done = wait_for(succeeded, 10, message="the delivery to be recorded")
    assert done["attempts"] == 1 and done["last_status_code"] == 200
    attempt = done["attempt_log"][0]
    assert attempt["status_code"] == 200 and attempt["duration_ms"] > 0
    assert attempt["error"] is None and done["delivered_at"]


def test_retries_on_500_then_succeeds(app, client, dev, developer, receiver, hook_worker):
    receiver.script = [500, 500, 200]
    hook_worker()
    hook = subscribe(client, dev, receiver.url, ["task.created"])
    make_task(app, developer)
    wait_for(lambda: len(receiver.requests) == 3, 30, 0.05, "three attempts")

    def final():
        items = deliveries(client, dev, hook["id"])["items"]
        return items and items[0]["status"] == "succeeded" and items[0]

    done = wait_for(final, 10, message="success to be recorded")
    assert done["attempts"] == 3
    assert [a["status_code"] for a in done["attempt_log"]] == [500, 500, 200]
    assert [a["error"] for a in done["attempt_log"]] == ["HTTP 500", "HTTP 500", None]
    # The same bytes, signature and delivery id every time; only the attempt number moves.
    bodies = {r["body"] for r in receiver.requests}
    assert len(bodies) == 1
    assert [r["headers"]["X-Delivery-Attempt"] for r in receiver.requests] == ["1", "2", "3"]


def test_gives_up_after_the_last_attempt(app, client, dev, developer, receiver, hook_worker):
    receiver.script = [503]
    hook_worker()
    hook = subscribe(client, dev, receiver.url, ["task.created"])
    make_task(app, developer)

    def failed():
        items = deliveries(client, dev, hook["id"])["items"]
        return items and items[0]["status"] == "failed" and items[0]

    done = wait_for(failed, 30, 0.1, "the delivery to give up")
    assert done["attempts"] == done["max_attempts"] == 3
    assert done["last_error"] == "HTTP 503" and done["next_attempt_at"] is None
    assert len(receiver.requests) == 3
    listed = client.get(f"/api/webhooks/{hook['id']}/deliveries?status=failed", headers=dev)
    assert listed.json["data"]["total"] == 1


def test_a_hanging_receiver_is_cut_off(app, client, dev, developer, receiver, hook_worker,
                                       monkeypatch):
    receiver.script = ["hang", 200]
    hook_worker()
    hook = subscribe(client, dev, receiver.url, ["task.created"])
    make_task(app, developer)

    def retried():
        items = deliveries(client, dev, hook["id"])["items"]
        return items and items[0]["status"] == "succeeded" and items[0]

    done = wait_for(retried, 30, 0.1, "the retry after the hang")
    first, second = done["attempt_log"]
    assert first["status_code"] is None and first["error"] == "timed out after 1s"
    assert second["status_code"] == 200


def test_test_ping(app, client, dev, receiver, hook_worker, monkeypatch):
    hook_worker()
    hook = subscribe(client, dev, receiver.url, ["system.alert"], active=False)
    resp = client.post(f"/api/webhooks/{hook['id']}/test", headers=dev)
    assert resp.status_code == 202
    assert resp.json["data"]["event"] == "ping" and resp.json["data"]["status"] == "pending"
    wait_for(lambda: receiver.requests, 15, message="the ping")
    payload = json.loads(receiver.requests[0]["body"])
    assert payload["event"] == "ping" and payload["data"]["webhook_id"] == hook["id"]
    assert receiver.requests[0]["headers"]["X-Event-Type"] == "ping"


def test_who_receives_what(app, client, auth, developer, make_user, receiver, hook_worker):
    from app.services.system import set_maintenance

    hook_worker()
    stranger, member = make_user(), make_user()
    with app.app_context():
        project = factories.project(developer, settings={"members": [str(member.id)]})
    mine = subscribe(client, auth(developer), receiver.url + "?who=owner",
                     ["task.created", "system.maintenance"])
    theirs = subscribe(client, auth(stranger), receiver.url + "?who=stranger",
                       ["task.created", "system.maintenance"])
    shared = subscribe(client, auth(member), receiver.url + "?who=member", ["task.created"])
    off = subscribe(client, auth(developer), receiver.url + "?who=inactive", ["task.created"],
                    active=False)
    make_task(app, developer, project=project)
    with app.app_context():
        set_maintenance(True, "Back soon", "ops")
    wait_for(lambda: len(receiver.requests) == 4, 20, message="four deliveries")
    got = sorted((r["path"].split("=")[1], r["headers"]["X-Event-Type"])
                 for r in receiver.requests)
    assert got == [("member", "task.created"), ("owner", "system.maintenance"),
                   ("owner", "task.created"), ("stranger", "system.maintenance")]
    maintenance = next(json.loads(r["body"]) for r in receiver.requests
                       if r["headers"]["X-Event-Type"] == "system.maintenance")
    assert maintenance["data"]["enabled"] is True and maintenance["data"]["message"] == "Back soon"
    assert deliveries(client, auth(developer), off["id"])["total"] == 0
    assert all(h["id"] for h in (mine, theirs, shared))


def test_no_webhook_no_job(app, developer):
    """Without an active webhook for an event type, emitting it enqueues nothing."""
    from rq import Queue

    from app.extensions import get_redis
    from app.services import webhook_delivery

    with app.app_context():
        project = factories.project(developer)
        queue = Queue("high", connection=get_redis())
        queue.empty()
        webhook_delivery.rebuild_types()
        factories.task(project, developer)
        assert queue.count == 0
        get_redis().delete(webhook_delivery.TYPES_KEY)  # cold cache: the sink rebuilds it first
        factories.task(project, developer)
        assert queue.count == 0
        assert get_redis().exists(webhook_delivery.TYPES_KEY)

