"""Login and logout pages with HttpOnly JWT cookies and CSRF protection (test client)."""

from __future__ import annotations

from datetime import timedelta


def cookie(client, name):
    found = client.get_cookie(name)
    return found.value if found else None


def log_in(client, user, next_url="/"):
    return client.post("/login", data={"username": user.username, "password": user.password,
                                        "next": next_url})


def test_login_page_renders(client):
    resp = client.get("/login")
    assert resp.status_code == 200
    assert b'name="username"' in resp.data and b'name="password"' in resp.data
    assert b"htmx-2.0.11.min.js" in resp.data


def test_anonymous_visitor_is_sent_to_login_and_back(client, developer):
    resp = client.get("/")
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/login?next=/")
    done = log_in(client, developer, "/")
    assert done.status_code == 302 and done.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert developer.username.encode() in page.data


def test_cookies_are_httponly_and_csrf_cookie_readable(client, developer):
    resp = log_in(client, developer)
    set_cookies = resp.headers.getlist("Set-Cookie")
    access = next(c for c in set_cookies if c.startswith("access_token_cookie="))
    csrf = next(c for c in set_cookies if c.startswith("csrf_access_token="))
    assert "HttpOnly" in access
    assert "HttpOnly" not in csrf
    assert "SameSite=Lax" in access


def test_bad_credentials_show_a_message(client, developer):
    resp = client.post("/login", data={"username": developer.username, "password": "nope"})
    assert resp.status_code == 200
    assert b"Wrong username or password." in resp.data
    assert cookie(client, "access_token_cookie") is None


def test_disabled_account_message(client, app, developer):
    from app.extensions import db
    from app.models import User
    from app.services.users import set_disabled

    with app.app_context():
        set_disabled(db.session.get(User, developer.id), True)
    resp = log_in(client, developer)
    assert b"This account is disabled" in resp.data


def test_open_redirect_is_refused(client, developer):
    resp = log_in(client, developer, "https://evil.example/")
    assert resp.headers["Location"] == "/"
    resp = log_in(client, developer, "//evil.example/")
    assert resp.headers["Location"] == "/"


def test_htmx_login_uses_hx_redirect(client, developer):
    resp = client.post("/login", data={"username": developer.username,
                                       "password": developer.password},
                       headers={"HX-Request": "true"})
    assert resp.status_code == 204 and resp.headers["HX-Redirect"] == "/"


def test_logout_needs_csrf_and_revokes(client, developer):
    log_in(client, developer)
    assert client.post("/logout").headers["Location"] == "/"     # no CSRF token: ignored
    assert client.get("/").status_code == 200
    out = client.post("/logout", data={"csrf_token": cookie(client, "csrf_access_token")})
    assert out.headers["Location"] == "/login"
    assert cookie(client, "access_token_cookie") is None
    assert client.get("/").status_code == 302


def test_cookie_auth_on_api_needs_csrf_for_writes(client, developer):
    log_in(client, developer)
    assert client.get("/api/users/profile").status_code == 200
    no_csrf = client.put("/api/users/preferences", json={"theme": "dark"})
    assert no_csrf.status_code == 401
    assert "CSRF" in no_csrf.json["error"]["message"]
    ok = client.put("/api/users/preferences", json={"theme": "dark"},
                    headers={"X-CSRF-TOKEN": cookie(client, "csrf_access_token")})
    assert ok.status_code == 200


def test_expired_access_cookie_is_refreshed_transparently(client, app, developer):
    from flask_jwt_extended import create_access_token

    log_in(client, developer)
    with app.app_context():
        stale = create_access_token(identity=str(developer.id),
                                    expires_delta=timedelta(seconds=-5))
    client.set_cookie("access_token_cookie", stale)
    resp = client.get("/")
    assert resp.status_code == 200
    assert cookie(client, "access_token_cookie") != stale


def test_expired_session_without_refresh_says_so(client, app, developer):
    from flask_jwt_extended import create_access_token

    with app.app_context():
        stale = create_access_token(identity=str(developer.id),
                                    expires_delta=timedelta(seconds=-5))
    client.set_cookie("access_token_cookie", stale)
    resp = client.get("/")
    assert resp.status_code == 302 and "reason=expired" in resp.headers["Location"]
    page = client.get(resp.headers["Location"])
    assert b"Your session has expired" in page.data


def test_error_pages_are_html_outside_api(client):
    resp = client.get("/no/such/page")
    assert resp.status_code == 404
    assert resp.mimetype == "text/html"
