"""Every page under its Content-Security-Policy in a real Chromium (issue 10 point 7): no
violation reported, no script error, htmx and the page sockets working. Swagger UI and
rq-dashboard (their own, looser policy) load too.

Violations are collected two ways: the `securitypolicyviolation` DOM event (a script added
before any page script runs) and Chromium's console messages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models.user import User
from tests import factories

pytestmark = pytest.mark.browser

COLLECT = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
                    " at " + e.sourceFile + ":" + e.lineNumber + " " + (e.sample || ""));
});
"""


@pytest.fixture
def watched(browser, live_server):
    """`watched(user=None)`: a page (logged in as `user`, if given) whose CSP violations,
    console CSP messages, script errors and websockets are recorded."""
    contexts = []

    def open_(user=None):
        context = browser.new_context(base_url=live_server, viewport={"width": 1280,
                                                                      "height": 900})
        contexts.append(context)
        context.add_init_script(COLLECT)
        page = context.new_page()
        page.set_default_timeout(15000)
        page.problems = []
        page.sockets = []
        page.on("console", lambda m: page.problems.append(f"console: {m.text}")
                if "Content Security Policy" in m.text or "Content-Security-Policy" in m.text
                else None)
        page.on("pageerror", lambda exc: page.problems.append(f"script error: {exc}"))
        page.on("websocket", lambda ws: page.sockets.append(ws))
        if user is not None:
            page.goto("/login")
            page.fill("#username", user.username)
            page.fill("#password", user.password)
            page.click("button[type=submit]")
            page.wait_for_url(lambda url: "/login" not in url)
        return page

    yield open_
    for context in contexts:
        context.close()


def visit(page, path: str) -> list[str]:
    """Load `path` fully; what went wrong on it (CSP or script)."""
    page.goto(path)
    page.wait_for_load_state("load")
    page.wait_for_function("document.readyState === 'complete'")
    page.wait_for_timeout(300)  # let deferred scripts and htmx's first processing report
    found = page.evaluate("window.__csp || []")
    problems = list(page.problems) + [f"csp: {v}" for v in found]
    page.problems.clear()
    return problems


@pytest.fixture
def content(app, developer):
    """One of everything a page shows, owned by `developer`."""
    with app.app_context():
        owner = db.session.get(User, developer.id)
        project = factories.project(developer)
        task = factories.task(project, owner, executor="shell", command="echo hi",
                              tags=["csp"])
        run_id = factories.execution(task, owner, status="completed", exit_code=0)
        factories.output_lines("execution", run_id, [
            "plain line", "\x1b[31mred\x1b[0m and \x1b[38;2;10;200;30m24-bit green\x1b[0m",
            {"content": "to stderr", "stream": "stderr"}])
        command_id = factories.command(owner, project, status="completed", exit_code=0)
        factories.output_lines("command", command_id, ["\x1b[38;5;202morange\x1b[0m"])
        from app.services import sessions, webhooks

        session = sessions.create_session(owner, project.id)
        hook, _secret = webhooks.create_webhook(owner, "http://127.0.0.1:9/hook",
                                                ["task.completed"])
        return {"project": project.id, "task": task.id, "run": run_id, "command": command_id,
                "session": session.id, "webhook": hook.id}


def test_every_page_runs_under_its_policy(watched, developer, admin, content):
    page = watched(developer)
    p, t = content["project"], content["task"]
    paths = ["/", "/projects", f"/projects/{p}", f"/projects/{p}/board",
             f"/projects/{p}/analytics", f"/projects/{p}/tasks/new", f"/tasks/{t}",
             f"/tasks/{t}/edit", f"/executions/{content['run']}",
             f"/commands/{content['command']}", "/commands", "/queues", "/sessions",
             f"/sessions/{content['session']}", "/webhooks", f"/webhooks/{content['webhook']}",
             "/profile", "/docs/"]
    report = {path: visit(page, path) for path in paths}
    assert {path: found for path, found in report.items() if found} == {}

    # The scripts really run: htmx is there, coloured output has its inline colour, the
    # analytics charts drew, a page socket connected to this host.
    page.goto(f"/executions/{content['run']}")
    assert page.evaluate("typeof window.htmx") == "object"
    green = page.locator("span[style]", has_text="24-bit green").first
    assert green.evaluate("el => getComputedStyle(el).color") == "rgb(10, 200, 30)"
    page.goto(f"/projects/{p}/analytics")
    expect(page.locator("[data-charts-ready]").first).to_be_attached()
    assert any("/ws/pages" in ws.url for ws in page.sockets)

    # htmx requests work under the policy (a form posted without reload, its answer swapped).
    page.goto("/profile")
    page.select_option("#pref-theme", "dark")
    expect(page.locator("#prefs-saved")).to_be_visible()
    assert page.evaluate("window.__csp") == [] and page.problems == []


def test_a_new_webhook_secret_is_selected_on_focus_without_inline_handlers(watched,
                                                                            developer):
    page = watched(developer)
    assert visit(page, "/webhooks") == []
    page.fill("#webhook-url", "http://127.0.0.1:9/new")
    page.check("input[name=events][value='task.completed']")
    page.click("#webhook-create-submit")
    box = page.locator("#webhook-secret")
    expect(box).to_be_visible()
    box.focus()
    page.wait_for_function(
        "() => { const el = document.getElementById('webhook-secret');"
        " return el.selectionStart === 0 && el.selectionEnd === el.value.length; }")
    assert page.evaluate("window.__csp") == [] and page.problems == []


def test_login_and_admin_pages_and_rq_dashboard(watched, admin):
    anonymous = watched()
    assert visit(anonymous, "/login") == []
    page = watched(admin)
    assert visit(page, "/admin") == []
    assert visit(page, "/rq/") == []
    # rq-dashboard's own scripts ran: its queue table was filled from its JSON polling.
    expect(page.locator("#queues, table").first).to_be_visible()
    page.wait_for_function("document.querySelectorAll('tbody tr').length > 0")
    assert page.evaluate("window.__csp") == [] and page.problems == []


def test_the_policy_really_blocks_injected_script(watched, developer):
    """The check above can fail: an inline script added to a page is refused and reported."""
    page = watched(developer)
    assert visit(page, "/profile") == []
    page.evaluate("""() => { const s = document.createElement('script');
        s.textContent = 'window.injected = 1'; document.body.appendChild(s); }""")
    page.wait_for_function("window.__csp.length > 0")
    assert page.evaluate("window.injected") is None
    assert re.search(r"script-src", " ".join(page.evaluate("window.__csp")))
