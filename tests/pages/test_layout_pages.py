"""The layout every page shares (templates/layouts/base.html): the maintenance banner drawn with
the page, the top bar with its menu button, and no inline code (the pages run under a CSP)."""

from __future__ import annotations

import re
import uuid

import pytest

from app.services import system
from tests.pages import login_client

page_client = login_client.page_client  # the fixture shared by the page tests

BANNER = re.compile(r'<div id="maintenance-banner"[^>]*>(.*?)</div>', re.S)


def _banner(html: bytes) -> tuple[str, str]:
    """(the banner's opening tag, its text) in a page."""
    text = html.decode()
    match = BANNER.search(text)
    assert match, "no #maintenance-banner on the page"
    tag = text[match.start():text.index(">", match.start()) + 1]
    return tag, " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


@pytest.fixture
def maintenance(app):
    def switch(on: bool, message: str | None = None) -> None:
        with app.app_context():
            system.set_maintenance(on, message, by="test")

    yield switch
    with app.app_context():
        system.set_maintenance(False, by="test")


def test_banner_on_every_kind_of_page_while_maintenance_is_on(app, page_client, maintenance,
                                                            developer):
    client = page_client(developer)
    maintenance(True, "Upgrading the database until 18:00")
    anonymous = app.test_client()
    pages = [client.get("/"), client.get("/projects"), client.get("/profile"),
             client.get("/webhooks"), client.get(f"/projects/{uuid.uuid4()}"),  # a 404 page
             anonymous.get("/login")]
    assert [p.status_code for p in pages] == [200, 200, 200, 200, 404, 200]
    for page in pages:
        tag, text = _banner(page.data)
        assert " hidden" not in tag
        assert "Upgrading the database until 18:00" in text
        assert "Changes are refused until it ends" in text


def test_banner_hidden_and_empty_when_maintenance_is_off(page_client, maintenance, developer):
    client = page_client(developer)
    maintenance(True, "short break")
    maintenance(False)
    tag, text = _banner(client.get("/profile").data)
    assert " hidden" in tag and text == ""


def test_banner_without_a_message_says_what_it_means(page_client, maintenance, developer):
    client = page_client(developer)
    maintenance(True)
    _tag, text = _banner(client.get("/projects").data)
    assert text.startswith("Maintenance. The system is in maintenance mode.")


def test_top_bar_has_a_menu_button_and_marks_the_current_page(page_client, developer):
    html = page_client(developer).get("/projects").data.decode()
    assert re.search(r'<button type="button" class="nav-toggle" id="nav-toggle" '
                     r'aria-expanded="false" aria-controls="site-menu"', html)
    assert 'id="site-menu"' in html
    assert '<a href="/projects" aria-current="page">Projects</a>' in html
    assert '<a href="/" aria-current' not in html
    assert 'data-site-live="/ws/pages?topics=user"' in html  # the socket of socket-less pages


def test_login_page_has_no_menu_and_no_socket(app):
    html = app.test_client().get("/login").data.decode()
    assert "nav-toggle" not in html and "data-site-live" not in html


def test_layout_and_toasts_carry_no_inline_code(app, page_client, developer):
    """No inline <script>, on*= or hx-on handlers in what the layout and the toast partial
    render: a CSP without 'unsafe-inline'/'unsafe-eval' would block them."""
    html = page_client(developer).get("/profile").data.decode()
    with app.test_request_context():
        from app.realtime import page_fragments

        toast = page_fragments.toast("info", "Saved", "All good", [{"label": "Open",
                                                                    "url": "/queues"}])
    for text in (html, toast):
        assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", text)
        assert not re.search(r"\son[a-z]+\s*=", text)
        assert "hx-on" not in text
    assert "data-toast-close" in toast and "data-autodismiss" in toast
