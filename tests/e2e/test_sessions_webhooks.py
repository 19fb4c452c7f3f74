"""Sessions and webhooks pages in a real Chromium; the webhook test ping is delivered by a real
worker to a real HTTP receiver, and the page shows it arrive."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models.session import UserSession
from tests import factories

pytestmark = pytest.mark.browser


@pytest.fixture
def receiver():
    """A local HTTP endpoint that records what it receives and answers 204."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append({"headers": dict(self.headers), "body": body})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    thread.join(5)


def test_session_create_settings_and_restore(app, page_for, developer):
    with app.app_context():
        factories.project(developer, name="Focus")
    page = page_for(developer, "/sessions")
    page.on("dialog", lambda dialog: dialog.accept())
    page.select_option("#session-project", label="Focus")
    page.click("#session-create summary")
    page.fill("#session-settings", '{"mode": "first"}')
    page.click("#session-create-submit")
    page.wait_for_url(re.compile(r"/sessions/[0-9a-f-]{36}$"))
    session_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#session-facts")).to_contain_text("Focus")

    page.fill("#session-settings", '{"mode": "second"}')
    page.click("#session-settings-save")
    expect(page.locator("#session-notice")).to_have_text("Settings saved.")
    expect(page.locator("#session-history")).to_contain_text("settings changed")

    created = page.locator("#session-history li", has_text="created")
    created.get_by_role("button", name="Restore to here").click()
    expect(page.locator("#session-notice")).to_contain_text("Restored from the state of")
    expect(page.locator("#session-history li").first).to_contain_text("restored")
    with app.app_context():
        restored = db.session.get(UserSession, uuid.UUID(session_id))
        assert restored.settings == {"mode": "first"}
    expect(page.locator("#session-settings")).to_have_value(re.compile(r'"mode": "first"'))


def test_webhook_secret_shown_once_and_test_ping_arrives(app, page_for, developer, receiver,
                                                         start_worker):
    url, received = receiver
    start_worker()
    page = page_for(developer, "/webhooks")
    page.fill("#webhook-url", "not a url")
    page.check("input[name=events][value='task.completed']")
    page.click("#webhook-create-submit")
    expect(page.locator("#webhook-url-error")).to_be_visible()

    page.fill("#webhook-url", url)
    page.click("#webhook-create-submit")
    secret_box = page.locator("#webhook-secret")
    expect(secret_box).to_be_visible()
    secret = secret_box.input_value()
    assert len(secret) >= 16

    page.click(f"a[href^='/webhooks/']:has-text('{url[:40]}')")
    page.wait_for_url(re.compile(r"/webhooks/[0-9a-f-]{36}$"))
    assert secret not in page.content()                      # never shown again
    page.click("#webhook-test")
    expect(page.locator("#webhook-test-sent")).to_be_visible()
    expect(page.locator("#webhook-deliveries .dstatus").first).to_have_text(
        "succeeded", timeout=20000)                           # the log refreshes itself
    assert len(received) == 1
    got = received[0]
    expected = "sha256=" + hmac.new(secret.encode(), got["body"], hashlib.sha256).hexdigest()
    assert got["headers"]["X-Signature-256"] == expected
    assert json.loads(got["body"])["event"] == "ping"
