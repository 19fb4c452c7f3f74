"""The command console in a real Chromium with a real worker: suggestions as you type (keyboard
too), safety warnings before running, refusals in place, live output, cancel and history."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from app.extensions import db
from app.models.command import CommandRun

pytestmark = pytest.mark.browser
WAIT = 15000  # ms: the machine may be busy; each wait still ends as soon as it holds


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(CommandRun))


def test_suggestions_and_unsafe_warning(app, page_for, developer):
    page = page_for(developer, "/commands")
    box = page.locator("#console-command")
    box.fill("git st")
    suggestion = page.locator('#console-suggestions [data-fill="git status"]')
    expect(suggestion).to_be_visible(timeout=WAIT)
    box.press("ArrowDown")
    focused = page.evaluate("document.activeElement.dataset.fill")
    assert focused and focused.startswith("git st")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")                               # picks the focused suggestion
    expect(box).to_have_value(focused, timeout=WAIT)
    assert page.evaluate("document.activeElement.id") == "console-command"

    box.fill("rm -rf /")
    safety = page.locator("#console-safety")
    expect(safety).to_contain_text("will be refused", timeout=WAIT)
    expect(safety).to_contain_text("delete the whole filesystem", timeout=WAIT)
    page.evaluate("""window.formReady = false;
        document.addEventListener("htmx:load", function (e) {
          if (e.target.id === "console-form-card") { window.formReady = true; }
        });""")
    page.click("#console-run-button")
    expect(page.locator("#console-command-error")).to_contain_text("whole filesystem",
                                                                   timeout=WAIT)
    expect(box).to_have_value("rm -rf /", timeout=WAIT)
    page.wait_for_function("window.formReady")   # the re-drawn form is live (htmx settled)
    assert _count(app) == 0

    box.fill("git push --force")
    expect(safety).to_contain_text("Force-push", timeout=WAIT)
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("#console-run-button")
    page.wait_for_timeout(300)  # a refused confirm sends nothing: there is no event to wait on
    assert asked and "Force-push" in asked[0]
    assert _count(app) == 0


def test_run_watch_cancel_and_history(app, page_for, developer, start_worker):
    start_worker(queues="high")
    page = page_for(developer, "/commands")
    page.evaluate("window.samePage = true")
    page.fill("#console-command", "echo hello-from-console; printf '\\033[32mgreen\\033[0m\\n'")
    page.click("#console-run-button")
    run = page.locator("#console-run")
    expect(run.locator(".log")).to_contain_text("hello-from-console", timeout=20000)
    expect(run.locator(".log .ansi-green")).to_have_text("green", timeout=WAIT)
    expect(run.locator(".run-head .status")).to_have_text("completed", timeout=20000)
    expect(page.locator("#console-history")).to_contain_text("hello-from-console", timeout=WAIT)

    page.on("dialog", lambda dialog: dialog.accept())
    page.fill("#console-command", "echo long; sleep 30")
    page.click("#console-run-button")
    expect(run.locator(".log")).to_contain_text("long", timeout=20000)
    run.locator("button.danger").click()                      # Cancel
    expect(run.locator(".run-head .status")).to_have_text("cancelled", timeout=20000)
    expect(page.locator("#console-history .status-cancelled")).to_have_count(1, timeout=10000)
    assert page.evaluate("window.samePage") is True
    with app.app_context():
        statuses = sorted(db.session.scalars(select(CommandRun.status)))
    assert statuses == ["cancelled", "completed"]


def test_refusal_htmx_does_not_swap_is_shown(app, page_for, developer):
    """Maintenance refuses writes with a 503 error page: the page shows its message."""
    page = page_for(developer, "/commands")
    with app.app_context():
        from app.services import system

        system.set_maintenance(True, "Upgrading the database until 18:00", "admin")
    page.fill("#console-command", "ls")
    page.click("#console-run-button")
    expect(page.locator(".toast-error")).to_contain_text("Upgrading the database",
                                                         timeout=WAIT)
    assert _count(app) == 0
