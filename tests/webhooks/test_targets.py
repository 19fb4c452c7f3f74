"""Where webhooks may send: never link-local (cloud metadata), unspecified or multicast
addresses; loopback and private networks only while WEBHOOK_ALLOW_PRIVATE allows them.
Checked when a webhook is saved (literal addresses) and at every delivery (resolved names)."""

from __future__ import annotations

import pytest

from app.services.webhook_targets import Refused, refusal, resolve
from tests.live import wait_for

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("address, private_ok, refused", [
    ("169.254.169.254", True, "link-local"),
    ("fe80::1", True, "link-local"),
    ("::ffff:169.254.169.254", True, "link-local"),
    ("0.0.0.0", True, "unicast"),
    ("224.0.0.1", True, "unicast"),
    ("240.0.0.1", True, "reserved"),
    ("127.0.0.1", True, None),
    ("10.1.2.3", True, None),
    ("127.0.0.1", False, "private"),
    ("::1", False, "private"),
    ("192.168.1.10", False, "private"),
    ("93.184.216.34", False, None),
])
def test_refusal(address, private_ok, refused):
    reason = refusal(address, private_ok)
    assert (reason is None) if refused is None else (refused in reason)


def test_names_are_resolved_and_every_address_checked(app, monkeypatch):
    with app.app_context():
        assert "127.0.0.1" in resolve("localhost", 80) or "::1" in resolve("localhost", 80)
        monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", "0")
        with pytest.raises(Refused, match=r"localhost is .*private"):
            resolve("localhost", 80)
        with pytest.raises(Refused, match="cannot resolve"):
            resolve("no-such-host.invalid", 80)


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/",
                                 "http://[::ffff:a9fe:a9fe]/", "http://0.0.0.0:8000/hook"])
def test_saving_a_forbidden_literal_address_is_a_422(client, auth, developer, url):
    resp = client.post("/api/webhooks/", json={"url": url, "events": ["task.created"]},
                       headers=auth(developer))
    assert resp.status_code == 422, resp.json
    assert resp.json["error"]["details"]["field"] == "url"
    assert "must not point at" in resp.json["error"]["details"]["issue"]
    assert client.get("/api/webhooks/", headers=auth(developer)).json["data"]["total"] == 0


def test_delivery_to_a_name_of_a_private_address_is_refused_when_turned_off(
        app, client, auth, developer, receiver, start_worker, worker_env):
    """Saved by name (nothing to check then), refused at delivery: the receiver hears nothing
    and the attempt says why."""
    from tests import factories

    start_worker(queues="high", env=dict(worker_env, WEBHOOK_ALLOW_PRIVATE="0",
                                         WEBHOOK_MAX_ATTEMPTS="1"))
    url = receiver.url.replace("127.0.0.1", "localhost")
    hook = client.post("/api/webhooks/", json={"url": url, "events": ["task.created"]},
                       headers=auth(developer)).json["data"]
    with app.app_context():
        factories.task(factories.project(developer), developer)

    def failed():
        items = client.get(f"/api/webhooks/{hook['id']}/deliveries",
                           headers=auth(developer)).json["data"]["items"]
        return items and items[0]["status"] == "failed" and items[0]

    done = wait_for(failed, 30, 0.1, "the delivery to be refused")
    assert done["last_error"].startswith("refused: localhost is ")
    assert "WEBHOOK_ALLOW_PRIVATE=0" in done["last_error"]
    assert receiver.requests == []
