"""Real Chromium (Debian's package) driven by Playwright against a live server (STACK.md).

Skipped with a clear reason where no Chromium is installed; `.ci/run` installs it so CI always
runs these. Registered once, in tests/conftest.py: a session-wide browser defined in two
conftests would start a second Playwright in the same session, which breaks the first.
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which(
    "chromium-browser")


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM:
        pytest.skip("no Chromium here (apt-get install -y chromium); .ci/run installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield chromium
        chromium.close()


@pytest.fixture
def page_for(browser, live_server):
    """`page_for(user)`: a fresh browser context logged in as `user` through the login form."""
    contexts = []

    def open_page(user, path: str = "/", viewport: dict | None = None):
        context = browser.new_context(base_url=live_server,
                                      viewport=viewport or {"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto("/login")
        page.fill("#username", user.username)
        page.fill("#password", user.password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        if path != "/":
            page.goto(path)
        return page

    yield open_page
    for context in contexts:
        context.close()
