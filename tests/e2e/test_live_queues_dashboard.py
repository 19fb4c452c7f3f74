"""Queues page and dashboard in a real Chromium: a pause made elsewhere shows live, admin
controls work (clear asks first), the chart draws and switches period, counts and toasts
arrive on the dashboard without reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models.user import User
from tests import factories

pytestmark = pytest.mark.browser
WAIT = 15000  # ms: the machine may be busy; each wait still ends as soon as it holds


def test_queue_pause_shows_live_and_admin_controls(app, page_for, admin):
    page = page_for(admin, "/queues")
    page.evaluate("window.samePage = true")
    expect(page.locator("#queues-live")).to_have_attribute("data-live", "open", timeout=WAIT)
    expect(page.locator("#queues-metrics[data-charts-ready='1']")).to_have_count(1, timeout=WAIT)
    with app.app_context():                                   # paused by someone else
        from app.services import queue_control

        queue_control.pause("normal", "elsewhere", db.session.get(User, admin.id))
    expect(page.locator("#queue-normal-row")).to_have_attribute("data-paused", "1",
                                                                timeout=10000)
    expect(page.locator("#queue-normal-state")).to_contain_text("paused", timeout=WAIT)
    expect(page.locator("#queue-normal-resume")).to_be_visible(timeout=WAIT)
    expect(page.locator(".toast")).to_contain_text("Queue normal paused", timeout=WAIT)

    page.fill("#queue-low-reason", "deploy")
    page.click("#queue-low-pause")
    expect(page.locator("#queue-low-resume")).to_be_visible(timeout=WAIT)
    expect(page.locator("#queue-low-row")).to_have_attribute("data-paused", "1", timeout=WAIT)
    page.click("#queue-low-resume")
    expect(page.locator("#queue-low-pause")).to_be_visible(timeout=WAIT)

    asked = []
    page.once("dialog", lambda d: (asked.append(d.message), d.accept()))
    page.click("#queue-high-clear")
    notice = page.locator("#queues-control-notice")
    expect(notice).to_contain_text("Queue high cleared", timeout=WAIT)
    assert asked and "Clear the high queue" in asked[0]

    page.click("#queues-period-1h")
    expect(page.locator("#queues-period-1h")).to_have_attribute("aria-current", "page",
                                                                timeout=WAIT)
    expect(page.locator("#queues-metrics[data-charts-ready='1']")).to_have_count(1, timeout=WAIT)
    assert page.evaluate("window.samePage") is True


def test_developer_sees_queues_without_controls(page_for, developer):
    page = page_for(developer, "/queues")
    expect(page.locator("#queues-figures")).to_be_visible(timeout=WAIT)
    expect(page.locator("#queue-high-pause")).to_have_count(0, timeout=WAIT)
    expect(page.locator("#rq-link")).to_have_count(0, timeout=WAIT)


def test_dashboard_counts_and_toasts_live(app, page_for, developer):
    with app.app_context():
        project = factories.project(developer)
    page = page_for(developer, "/")
    page.evaluate("window.samePage = true")
    expect(page.locator("#dashboard-live")).to_have_attribute("data-live", "open", timeout=WAIT)
    pending = page.locator("#dashboard-count-pending .count-n")
    expect(pending).to_have_text("0", timeout=WAIT)
    with app.app_context():
        me = db.session.get(User, developer.id)
        factories.task(project, me, title="Fresh task")
        from app.services import events

        events.publish(events.make_event("notification", {
            "level": "warning", "title": "Heads up", "message": "<i>for you</i>"},
            user_id=developer.id))
    expect(pending).to_have_text("1", timeout=10000)
    expect(page.locator("#dashboard-activity")).to_contain_text("Fresh task", timeout=WAIT)
    toast = page.locator(".toast", has_text="Heads up")
    expect(toast).to_contain_text("<i>for you</i>", timeout=WAIT)
    toast.locator(".toast-close").click()
    expect(toast).to_have_count(0, timeout=WAIT)
    assert page.evaluate("window.samePage") is True
