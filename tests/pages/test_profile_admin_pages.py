"""Profile/preferences and admin pages through the test client (fast checks of the handlers)."""

from __future__ import annotations

import pytest

from app.services import system


@pytest.fixture
def browser_client(app):
    """A test client logged in through the login form, with a helper for CSRF-carrying posts."""

    def login(user):
        client = app.test_client()
        client.post("/login", data={"username": user.username, "password": user.password})
        token = client.get_cookie("csrf_access_token").value

        def post(url, data=None, **kw):
            return client.post(url, data=data or {}, headers={"X-CSRF-TOKEN": token,
                                                              "HX-Request": "true"}, **kw)

        client.hx_post = post
        return client

    return login


def test_profile_page_shows_statistics_and_preferences(browser_client, developer):
    client = browser_client(developer)
    page = client.get("/profile")
    assert page.status_code == 200
    assert b"Tasks created" in page.data and b'id="preferences-form"' in page.data


def test_saving_preferences_persists_and_applies_theme(browser_client, developer):
    client = browser_client(developer)
    resp = client.hx_post("/profile/preferences", {"theme": "dark", "timezone": "Asia/Tokyo"})
    assert resp.status_code == 200
    assert b'id="prefs-saved"' in resp.data
    assert b"<html" not in resp.data          # a fragment for htmx, not a whole page
    page = client.get("/profile")
    assert b'data-theme="dark"' in page.data
    assert b'value="Asia/Tokyo"' in page.data


def test_bad_timezone_is_shown_inline_and_not_saved(browser_client, developer):
    client = browser_client(developer)
    resp = client.hx_post("/profile/preferences", {"theme": "dark", "timezone": "Nowhere/City"})
    assert resp.status_code == 200
    assert b'id="pref-timezone-error"' in resp.data
    assert b"is not an IANA time zone" in resp.data
    assert b'data-theme="light"' in client.get("/profile").data


def test_write_without_csrf_is_refused(app, developer):
    client = app.test_client()
    client.post("/login", data={"username": developer.username, "password": developer.password})
    resp = client.post("/profile/preferences", data={"theme": "dark"})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_admin_page_is_for_admins_only(browser_client, developer, admin):
    assert browser_client(developer).get("/admin").status_code == 403
    page = browser_client(admin).get("/admin")
    assert page.status_code == 200 and b'id="admin-users"' in page.data


def test_admin_creates_and_disables_users(browser_client, admin, app):
    client = browser_client(admin)
    resp = client.hx_post("/admin/users", {"username": "newbie", "password": "long-password-1",
                                           "role": "viewer", "tier": "standard"})
    assert b"Created newbie" in resp.data
    dup = client.hx_post("/admin/users", {"username": "newbie", "password": "long-password-1"})
    assert b"already exists" in dup.data
    with app.app_context():
        from app.services.users import find_by_username

        newbie = find_by_username("newbie")
        assert newbie.role == "viewer"
        newbie_id = newbie.id
    client.hx_post(f"/admin/users/{newbie_id}/disable")
    login = app.test_client().post("/api/auth/login", json={"username": "newbie",
                                                            "password": "long-password-1"})
    assert login.json["error"]["code"] == "AUTH_ACCOUNT_DISABLED"


def test_admin_maintenance_toggle_works_during_maintenance(browser_client, admin, app):
    client = browser_client(admin)
    on = client.hx_post("/admin/maintenance", {"enabled": "1", "message": "patching"})
    assert b"ON since" in on.data
    system._cache.clear()
    off = client.hx_post("/admin/maintenance", {"enabled": "0"})
    assert off.status_code == 200 and b"Off: everything accepts writes" in off.data
