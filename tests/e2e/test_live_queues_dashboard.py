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


def test_queue_pause_shows_live_and_admin_controls(app, page_for, admin):
    page = page_for(admin, "/queues")
    page.evaluate("window.samePage = true")
    expect(page.locator("#queues-live")).to_have_attribute("data-live", "open")
    expect(page.locator("#queues-metrics[data-chart-ready='1']")).to_have_count(1)
    with app.app_context():                                   # paused by someone else
        from app.services import queue_control

        queue_control.pause("normal", "elsewhere", db.session.get(User, admin.id))
    expect(page.locator("#queue-normal-row")).to_have_attribute("data-paused", "1",
                                                                timeout=10000)
    expect(page.locator("#queue-normal-state")).to_contain_text("paused")
    expect(page.locator("#queue-normal-resume")).to_be_visible()
    expect(page.locator(".toast")).to_contain_text("Queue normal paused")

    page.fill("#queue-low-reason", "deploy")
    page.click("#queue-low-pause")
    expect(page.locator("#queue-low-resume")).to_be_visible()
    expect(page.locator("#queue-low-row")).to_have_attribute("data-paused", "1")
    page.click("#queue-low-resume")
    expect(page.locator("#queue-low-pause")).to_be_visible()

    asked = []
    page.once("dialog", lambda d: (asked.append(d.message), d.accept()))
    page.click("#queue-high-clear")
    expect(page.locator("#queues-control-notice")).to_contain_text("Queue high cleared")
    assert asked and "Clear the high queue" in asked[0]

    page.click("#queues-period-1h")
    expect(page.locator("#queues-period-1h")).to_have_attribute("aria-current", "page")
    expect(page.locator("#queues-metrics[data-chart-ready='1']")).to_have_count(1)
    assert page.evaluate("window.samePage") is True


def test_developer_sees_queues_without_controls(page_for, developer):
    page = page_for(developer, "/queues")
    expect(page.locator("#queues-figures")).to_be_visible()
    expect(page.locator("#queue-high-pause")).to_have_count(0)
    expect(page.locator("#rq-link")).to_have_count(0)


def test_dashboard_counts_and_toasts_live(app, page_for, developer):
    with app.app_context():
        project = factories.project(developer)
    page = page_for(developer, "/")
    page.evaluate("window.samePage = true")
    expect(page.locator("#dashboard-live")).to_have_attribute("data-live", "open")
    pending = page.locator("#dashboard-count-pending .count-n")
    expect(pending).to_have_text("0")
    with app.app_context():
        me = db.session.get(User, developer.id)
        factories.task(project, me, title="Fresh task")
        from app.services import events

        events.publish(events.make_event("notification", {
            "level": "warning", "title": "Heads up", "message": "<i>for you</i>"},
            user_id=developer.id))
    expect(pending).to_have_text("1", timeout=10000)
    expect(page.locator("#dashboard-activity")).to_contain_text("Fresh task")
    toast = page.locator(".toast", has_text="Heads up")
    expect(toast).to_contain_text("<i>for you</i>")
    toast.locator(".toast-close").click()
    expect(toast).to_have_count(0)
    assert page.evaluate("window.samePage") is True
