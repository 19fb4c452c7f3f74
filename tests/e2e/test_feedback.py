"""Feedback on every page (issue 10, point 18), in Chromium against a live server.

- A refusal htmx does not swap (503 maintenance, 403) is a toast with the server's own
  message, whatever page the user opened first (here: a task page opened directly, which loads
  none of the live viewer's scripts); a request that cannot reach the server says so.
- Maintenance: a banner on every page while it is on, drawn with the page and pushed to pages
  already open when it is switched on or off, both on pages with a live part of their own (their
  socket carries it) and on pages without one (the layout opens a socket for them).
- A boosted link to something deleted meanwhile shows the error page, like a browser would.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from app.extensions import db
from app.models.execution import TaskExecution
from app.models.user import User
from app.services import system
from tests.live import wait_for

WAIT = 10000


@pytest.fixture
def maintenance(app):
    """`maintenance(on, message=None)`: switch it as an admin would (the service behind the
    CLI and the admin page); always off again after the test."""

    def switch(on: bool, message: str | None = None) -> None:
        with app.app_context():
            system.set_maintenance(on, message, by="test")

    yield switch
    with app.app_context():
        system.set_maintenance(False, by="test")


def _open_directly(page, path: str) -> None:
    """A full page load of `path` (a fresh document: nothing loaded by an earlier page), and
    its page socket connected (its first message is the maintenance banner's state)."""
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(str(f))))
    page.goto(path)
    # Playwright's sync API delivers events while it runs a call: the short waits pump them.
    wait_for(lambda: page.wait_for_timeout(20) or any("maintenance-banner" in f for f in frames),
             WAIT / 1000, message="the page socket's first message")


def _runs(app, task) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(TaskExecution)
                                 .where(TaskExecution.task_id == task.id))


def test_task_page_opened_directly_toasts_maintenance_and_shows_the_banner_live(
        app, page_for, developer, project_of, task_of, maintenance):
    project = project_of(developer)
    task = task_of(project, developer, executor="shell", command="echo hi")
    page = page_for(developer)
    _open_directly(page, f"/tasks/{task.id}")
    banner = page.locator("#maintenance-banner")
    expect(banner).to_be_hidden()

    maintenance(True, "Upgrading the database until 18:00")
    expect(banner).to_be_visible(timeout=WAIT)                  # pushed over the task's socket
    expect(banner).to_contain_text("Upgrading the database until 18:00")

    page.click(f"#task-{task.id}-execute")
    toast = page.locator(".toast-error")
    expect(toast).to_have_count(1, timeout=WAIT)
    expect(toast).to_contain_text("Upgrading the database until 18:00")
    expect(page).to_have_url(f"{page.url.split('/tasks/')[0]}/tasks/{task.id}")
    assert _runs(app, task) == 0

    toast.locator(".toast-close").click()                       # dismissed by mouse
    expect(toast).to_have_count(0)
    maintenance(False)
    expect(banner).to_be_hidden(timeout=WAIT)


def test_refused_for_lack_of_permission_is_a_toast(app, page_for, developer, project_of,
                                                     task_of):
    """The account became a viewer while its task page was open: Execute is a 403 page."""
    project = project_of(developer)
    task = task_of(project, developer, executor="shell", command="echo hi")
    page = page_for(developer)
    _open_directly(page, f"/tasks/{task.id}")
    with app.app_context():
        db.session.get(User, developer.id).role = "viewer"
        db.session.commit()
    page.click(f"#task-{task.id}-execute")
    expect(page.locator(".toast-error")).to_contain_text("needs the 'execute' permission",
                                                         timeout=WAIT)
    assert _runs(app, task) == 0


def test_dependency_refusal_shows_the_servers_message(app, page_for, developer, project_of,
                                                       task_of):
    """409 TASK_DEPENDENCY_NOT_MET: the task page answers with its actions and the message in
    place (a swapped 200, so no toast is needed), on a page opened directly."""
    project = project_of(developer)
    first = task_of(project, developer, title="Migrate the schema", executor="shell",
                    command="echo one")
    second = task_of(project, developer, executor="shell", command="echo two")
    with app.app_context():
        from app.services import dependencies

        dependencies.add_dependency(second.id, db.session.get(User, developer.id),
                                    str(first.id))
    page = page_for(developer)
    _open_directly(page, f"/tasks/{second.id}")
    page.click(f"#task-{second.id}-execute")
    expect(page.locator(f"#task-{second.id}-actions-error")).to_contain_text(
        "Migrate the schema", timeout=WAIT)
    assert _runs(app, second) == 0


@pytest.mark.parametrize("path", ["/profile", "/projects", "/webhooks", "/sessions"])
def test_banner_pushed_to_pages_without_a_socket_of_their_own(page_for, developer,
                                                              maintenance, path):
    page = page_for(developer)
    _open_directly(page, path)
    assert page.locator("[ws-connect]").count() == 1            # the layout's, and only it
    banner = page.locator("#maintenance-banner")
    maintenance(True, "Moving to the new server")
    expect(banner).to_contain_text("Moving to the new server", timeout=WAIT)
    expect(banner).to_be_visible()
    maintenance(False)
    expect(banner).to_be_hidden(timeout=WAIT)


def test_pages_with_a_socket_open_no_second_one(page_for, developer, project_of):
    project = project_of(developer)
    page = page_for(developer)
    _open_directly(page, f"/projects/{project.id}/board")
    assert page.locator("#site-live").count() == 0
    assert page.locator("[ws-connect]").count() == 1
    page.click("a[href='/profile']")                            # boosted: the layout's socket
    expect(page.locator("#site-live")).to_have_count(1, timeout=WAIT)


def test_banner_is_drawn_with_every_page_while_on(app, page_for, developer, maintenance,
                                                  browser, live_server):
    maintenance(True, "Back at 18:00")
    page = page_for(developer)
    for path in ("/", "/projects", "/commands", "/queues", "/profile"):
        page.goto(path)
        expect(page.locator("#maintenance-banner")).to_contain_text("Back at 18:00")
    anonymous = browser.new_context(base_url=live_server).new_page()
    anonymous.goto("/login")
    expect(anonymous.locator("#maintenance-banner")).to_contain_text("Back at 18:00")
    anonymous.context.close()


def test_unreachable_server_is_a_toast(app, browser, start_gunicorn, make_user):
    """The web server really stops while a page is open; the next click says so."""
    user = make_user(role="developer")
    server = start_gunicorn()
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto("/login")
        page.fill("#username", user.username)
        page.fill("#password", user.password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        page.goto("/projects")
        page.wait_for_function("() => !!window.htmx")
        server.stop()
        page.click("a[href='/profile']")
        expect(page.locator(".toast-error")).to_contain_text("Could not reach the server",
                                                             timeout=WAIT)
        assert page.url.endswith("/projects")
    finally:
        context.close()


def test_boosted_link_to_a_deleted_project_shows_the_error_page(app, page_for, developer,
                                                                project_of):
    project = project_of(developer, name="Short-lived")
    page = page_for(developer, "/projects")
    link = page.locator(f"a[href='/projects/{project.id}']").first
    with app.app_context():
        from app.services import projects

        projects.delete_project(project.id, db.session.get(User, developer.id))
    link.click()
    expect(page.locator("#error-card")).to_contain_text("404", timeout=WAIT)
    expect(page).to_have_url(f"{page.url.split('/projects')[0]}/projects/{project.id}")
    assert page.locator(".toast").count() == 0
