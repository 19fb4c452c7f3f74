"""Tokens issued before a password change or a disable stop working; logout ends the whole login;
tokens without an expiry are refused (issue 10 point 5)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_jwt_extended import create_access_token, create_refresh_token

from app.extensions import db
from app.models.user import User

PROFILE = "/api/users/profile"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def api_login(client, user, password=None) -> dict:
    resp = client.post("/api/auth/login", json={"username": user.username,
                                                "password": password or user.password})
    assert resp.status_code == 200, resp.json
    return resp.json["data"]


def refused_as_stale(resp) -> bool:
    return (resp.status_code == 401 and resp.json["error"]["code"] == "AUTH_TOKEN_INVALID"
            and "password was changed" in resp.json["error"]["message"])


def cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_cli_password_change_ends_every_earlier_token(app, client, developer):
    first, second = api_login(client, developer), api_login(client, developer)
    refreshed = client.post("/api/auth/refresh", headers=bearer(first["refresh_token"]))
    assert refreshed.status_code == 200
    out = cli(app, "users", "set-password", developer.username, "--password", "brand-new-pw1")
    assert out.exit_code == 0 and "logged out" in out.output
    for token in (first["access_token"], second["access_token"],
                  refreshed.json["data"]["access_token"]):
        assert refused_as_stale(client.get(PROFILE, headers=bearer(token)))
    for token in (first["refresh_token"], second["refresh_token"]):
        assert refused_as_stale(client.post("/api/auth/refresh", headers=bearer(token)))
    # The new password gives a login that works; the old one is refused.
    fresh = api_login(client, developer, "brand-new-pw1")
    assert client.get(PROFILE, headers=bearer(fresh["access_token"])).status_code == 200
    assert client.post("/api/auth/login", json={"username": developer.username,
                                                "password": developer.password}).status_code == 401


def test_disable_then_enable_does_not_bring_old_tokens_back(app, client, developer):
    tokens = api_login(client, developer)
    assert cli(app, "users", "disable", developer.username).exit_code == 0
    resp = client.get(PROFILE, headers=bearer(tokens["access_token"]))
    assert resp.status_code == 403 and resp.json["error"]["code"] == "AUTH_ACCOUNT_DISABLED"
    assert cli(app, "users", "enable", developer.username).exit_code == 0
    assert refused_as_stale(client.get(PROFILE, headers=bearer(tokens["access_token"])))
    assert refused_as_stale(client.post("/api/auth/refresh",
                                        headers=bearer(tokens["refresh_token"])))
    assert client.get(PROFILE, headers=bearer(api_login(client, developer)["access_token"])
                      ).status_code == 200


def test_logout_with_the_access_token_ends_its_refresh_token(client, developer):
    mine, other = api_login(client, developer), api_login(client, developer)
    refreshed = client.post("/api/auth/refresh", headers=bearer(mine["refresh_token"])
                            ).json["data"]["access_token"]
    assert client.post("/api/auth/logout", headers=bearer(mine["access_token"])).status_code == 200
    refresh = client.post("/api/auth/refresh", headers=bearer(mine["refresh_token"]))
    assert refresh.status_code == 401 and "revoked" in refresh.json["error"]["message"]
    # An access token refreshed in that login is part of it too.
    assert client.get(PROFILE, headers=bearer(refreshed)).status_code == 401
    # Another login of the same user is untouched.
    assert client.get(PROFILE, headers=bearer(other["access_token"])).status_code == 200
    assert client.post("/api/auth/refresh",
                       headers=bearer(other["refresh_token"])).status_code == 200


def test_logout_with_the_refresh_token_ends_its_access_token(client, developer):
    tokens = api_login(client, developer)
    assert client.post("/api/auth/logout",
                       headers=bearer(tokens["refresh_token"])).status_code == 200
    resp = client.get(PROFILE, headers=bearer(tokens["access_token"]))
    assert resp.status_code == 401 and "revoked" in resp.json["error"]["message"]


@pytest.mark.parametrize("kind", ["access", "refresh"])
def test_tokens_without_an_expiry_are_refused(app, client, developer, kind):
    with app.app_context():
        make = create_access_token if kind == "access" else create_refresh_token
        token = make(identity=str(developer.id), expires_delta=False)
    from flask_jwt_extended import decode_token

    with app.app_context(), pytest.raises(Exception, match="expiry"):
        decode_token(token)
    if kind == "access":
        resp = client.get(PROFILE, headers=bearer(token))
        assert resp.status_code == 401 and resp.json["error"]["code"] == "AUTH_TOKEN_INVALID"
        client.set_cookie("access_token_cookie", token)
        assert client.get("/").status_code == 302                  # a page: not logged in
    else:
        resp = client.post("/api/auth/refresh", headers=bearer(token))
        assert resp.status_code == 401
        resp = client.post("/api/auth/logout", headers=bearer(token))
        assert resp.status_code == 401


def test_own_password_change_keeps_this_browser_and_ends_the_others(app, page_client,
                                                                    developer):
    mine, elsewhere = page_client(developer), page_client(developer)
    script = api_login(app.test_client(), developer)
    form = {"current_password": developer.password, "new_password": "a-better-pass",
            "confirm_password": "a-better-pass"}
    resp = mine.hx_post("/profile/password", form)
    assert resp.status_code == 204 and resp.headers["HX-Redirect"] == "/profile?password=changed"
    page = mine.get("/profile?password=changed")
    assert page.status_code == 200 and b'id="password-changed"' in page.data
    # The other browser is logged out, told why; the script's tokens are refused.
    gone = elsewhere.get("/")
    assert gone.status_code == 302 and "reason=changed" in gone.headers["Location"]
    assert b"Your password was changed" in elsewhere.get(gone.headers["Location"]).data
    assert refused_as_stale(app.test_client().get(PROFILE,
                                                  headers=bearer(script["access_token"])))
    # This browser keeps working, renewing its access cookie from the new refresh cookie too.
    assert mine.get("/projects").status_code == 200
    with app.app_context():
        stale = create_access_token(identity=str(developer.id),
                                    expires_delta=timedelta(seconds=-5))
    mine.set_cookie("access_token_cookie", stale)
    assert mine.get("/projects").status_code == 200
    assert mine.get_cookie("access_token_cookie").value != stale
    csrf = mine.get_cookie("csrf_access_token").value        # the new login's, as app.js reads it
    saved = mine.post("/profile/preferences", data={"theme": "dark"},
                      headers={"X-CSRF-TOKEN": csrf, "HX-Request": "true"})
    assert saved.status_code == 200 and b'id="prefs-saved"' in saved.data
    api_login(app.test_client(), developer, "a-better-pass")


@pytest.mark.parametrize("form, field, message", [
    ({"current_password": "not-it-at-all", "new_password": "a-better-pass",
      "confirm_password": "a-better-pass"}, "current-password", "The current password is wrong"),
    ({"new_password": "a-better-pass", "confirm_password": "another-pass"}, "confirm-password",
     "The two new passwords differ"),
    ({"new_password": "short", "confirm_password": "short"}, "new-password",
     "at least 8 characters"),
])
def test_own_password_change_refusals_are_inline_and_change_nothing(app, page_client, developer,
                                                                    form, field, message):
    client = page_client(developer)
    form = {"current_password": developer.password, **form}
    resp = client.hx_post("/profile/password", form)
    assert resp.status_code == 200
    assert f'id="{field}-error"'.encode() in resp.data and message.encode() in resp.data
    assert client.get("/profile").status_code == 200             # still logged in
    api_login(app.test_client(), developer)                       # old password still works


def test_admin_sets_another_users_password(app, page_client, admin, developer):
    admin_client, victim = page_client(admin), page_client(developer)
    resp = admin_client.hx_post("/admin/users/password",
                                {"user_id": str(developer.id), "password": "reset-by-admin"})
    assert resp.status_code == 200 and b'id="admin-password-set"' in resp.data
    assert victim.get("/").status_code == 302                     # their session ended
    assert admin_client.get("/admin").status_code == 200          # the admin's did not
    api_login(app.test_client(), developer, "reset-by-admin")
    with app.app_context():
        audit = db.session.get(User, developer.id)
        assert audit.check_password("reset-by-admin")


def test_admin_page_refuses_own_password_and_short_ones(page_client, admin, developer):
    client = page_client(admin)
    own = client.hx_post("/admin/users/password", {"user_id": str(admin.id),
                                                  "password": "whatever-long"})
    assert b"Change your own password on your profile page." in own.data
    short = client.hx_post("/admin/users/password", {"user_id": str(developer.id),
                                                    "password": "short"})
    assert b"at least 8 characters" in short.data
    assert client.get("/admin").status_code == 200


def test_viewers_cannot_set_passwords(page_client, viewer, developer):
    resp = page_client(viewer).hx_post("/admin/users/password",
                                       {"user_id": str(developer.id), "password": "x" * 10})
    assert resp.status_code == 403


def test_expired_access_cookie_after_a_password_change_is_not_renewed(app, page_client,
                                                                       developer):
    """The refresh cookie of a login made before the change cannot mint a new access cookie."""
    client = page_client(developer)
    with app.app_context():
        stale = create_access_token(identity=str(developer.id),
                                    expires_delta=timedelta(seconds=-5))
        from app.services.users import set_password

        set_password(db.session.get(User, developer.id), "changed-elsewhere")
    client.set_cookie("access_token_cookie", stale)
    resp = client.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
