"""Log in through the real login page; theme switch applies at once and persists."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_login_logout_and_bad_password(browser, live_server, developer):
    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    page.goto("/")
    assert "/login" in page.url
    page.fill("#username", developer.username)
    page.fill("#password", "wrong-password")
    page.click("button[type=submit]")
    page.wait_for_selector("#login-error")
    assert page.inner_text("#login-error") == "Wrong username or password."
    page.fill("#password", developer.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    assert developer.username in page.inner_text(".who")
    page.click("text=Log out")
    page.wait_for_url(lambda url: "/login" in url)
    page.goto("/")
    assert "/login" in page.url
    context.close()


def test_theme_switch_applies_at_once_and_persists(page_for, developer):
    page = page_for(developer, "/profile")
    assert page.get_attribute("html", "data-theme") == "light"
    page.select_option("#pref-theme", "dark")
    assert page.get_attribute("html", "data-theme") == "dark"
    page.wait_for_selector("#prefs-saved")
    page.reload()
    assert page.get_attribute("html", "data-theme") == "dark"
    page.goto("/")
    assert page.get_attribute("html", "data-theme") == "dark"


def test_timezone_error_is_shown_inline(page_for, developer):
    page = page_for(developer, "/profile")
    page.fill("#pref-timezone", "Atlantis/Capital")
    page.click("#preferences-form button[type=submit]")
    error = page.wait_for_selector("#pref-timezone-error")
    assert "IANA" in error.inner_text()
