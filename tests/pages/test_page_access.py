"""Every page route refuses anonymous visitors (no page forgets its permission check)."""

from __future__ import annotations

import re
import uuid

import pytest

OPEN = {"pages.login", "pages.login_submit", "pages.logout"}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("pages.") and rule.endpoint not in OPEN:
            url = re.sub(r"<any\(([a-z_]+)[^>]*>", r"\1", rule.rule)   # first choice
            url = re.sub(r"<(uuid:)?[a-z_]+>", lambda _m: str(uuid.uuid4()), url)
            url = re.sub(r"<int:[a-z_]+>", "1", url)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, url


def test_anonymous_visitors_are_sent_to_login(app, client):
    checked = 0
    for method, url in _routes(app):
        if "<" in url:
            pytest.fail(f"unhandled converter in {url}")
        resp = client.open(url, method=method)
        assert resp.status_code in (302, 401, 403, 404), (method, url, resp.status_code)
        if resp.status_code == 302:
            assert "/login" in resp.headers["Location"], (method, url)
        checked += 1
    assert checked > 40
