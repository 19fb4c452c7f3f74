"""Task and run truth on the pages, in a real Chromium against a live server (issue 10):
the dependency picker keeps searching after its first answer (point 23), ..."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models.user import User
from tests import factories

pytestmark = pytest.mark.browser
WAIT = 15000  # ms: the machine may be busy; each wait still ends as soon as it holds


def _htmx_errors(page) -> list[str]:
    """Collects htmx's error events (targetError, swapError, ...) as they happen."""
    page.evaluate("""() => {
        window.htmxErrors = [];
        for (const name of ["htmx:targetError", "htmx:swapError", "htmx:responseError",
                            "htmx:sendError", "htmx:oobErrorNoTarget"]) {
            document.body.addEventListener(name, () => window.htmxErrors.push(name));
        }
    }""")
    return page.evaluate("window.htmxErrors")


def _picker_titles(page) -> list[str]:
    return page.eval_on_selector_all("#dep-results .picker-title",
                                     "els => els.map(e => e.textContent)")


@pytest.mark.parametrize("where", ["create form", "task page"])
def test_dependency_picker_searches_after_its_first_answer(app, page_for, developer, where):
    with app.app_context():
        owner = db.session.get(User, developer.id)
        project = factories.project(owner)
        for title in ("Alpha build", "Alpha test", "Bravo deploy", "Charlie docs"):
            factories.task(project, owner, title=title)
        target = factories.task(project, owner, title="Zulu target")
    path = (f"/projects/{project.id}/tasks/new" if where == "create form"
            else f"/tasks/{target.id}")
    page = page_for(developer, path)
    _htmx_errors(page)
    search = page.locator("#dep-search")
    search.fill("alpha")
    expect(page.locator("#dep-results .picker-title")).to_have_count(2, timeout=WAIT)
    assert sorted(_picker_titles(page)) == ["Alpha build", "Alpha test"]
    search.fill("bravo")                                      # the second search
    expect(page.locator("#dep-results .picker-title")).to_have_text(["Bravo deploy"],
                                                                     timeout=WAIT)
    search.fill("nothing-like-this")                          # and a third
    expect(page.locator("#dep-results")).to_contain_text("No matching task.", timeout=WAIT)
    search.fill("charlie")
    expect(page.locator("#dep-results .picker-title")).to_have_text(["Charlie docs"],
                                                                     timeout=WAIT)
    page.locator("#dep-results button").click()               # the result still works
    if where == "create form":
        expect(page.locator("#new-task-deps")).to_contain_text("Charlie docs", timeout=WAIT)
    else:
        expect(page.locator(f"#task-{target.id}-deps .deps")).to_contain_text(
            "Charlie docs", timeout=WAIT)
        page.locator("#dep-search").fill("alpha")             # the re-drawn picker too
        expect(page.locator("#dep-results .picker-title")).to_have_count(2, timeout=WAIT)
    assert page.evaluate("window.htmxErrors") == []
