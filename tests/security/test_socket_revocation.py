"""Open sockets notice what ends their tokens (issue 10 point 5): the API socket `/ws/{session}`
and the pages socket re-check through `app.security` every 30 s (shortened here), so a
password change, a logout of the same login or a disable closes them; a stale token cannot
authenticate or renew a socket either."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models.user import User
from tests.e2e.test_live_socket import login as page_login
from tests.live import wait_for


@pytest.fixture
def quick_recheck(app, monkeypatch):
    from app.realtime import connection

    monkeypatch.setattr(connection, "RECHECK_SECONDS", 0.2)
    monkeypatch.setitem(app.config, "WS_PAGES_RECHECK", 0.2)


def change_password(app, user, new="changed-password"):
    with app.app_context():
        from app.services.users import set_password

        set_password(db.session.get(User, user.id), new)


def api_tokens(app, user) -> dict:
    resp = app.test_client().post("/api/auth/login", json={"username": user.username,
                                                           "password": user.password})
    return resp.json["data"]


def test_api_socket_closes_after_a_password_change(app, connect, developer, quick_recheck):
    ws = connect(developer)
    change_password(app, developer)
    error = ws.expect("error", timeout=10)
    assert error["data"]["code"] == "AUTH_TOKEN_INVALID"
    assert "password was changed" in error["data"]["message"]
    assert ws.closed()


def test_api_socket_closes_when_its_login_logs_out(app, connect, developer, new_session,
                                                   quick_recheck):
    tokens = api_tokens(app, developer)
    ws = connect(developer, auth=False)
    ws.send(type="authenticate", token=tokens["access_token"])
    assert ws.expect("authenticated")
    # Logging out with the *refresh* token of that login ends the socket's access token too.
    out = app.test_client().post("/api/auth/logout",
                                 headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert out.status_code == 200
    error = ws.expect("error", timeout=10)
    assert error["data"]["code"] == "AUTH_TOKEN_INVALID" and "revoked" in error["data"]["message"]
    assert ws.closed()


def test_a_token_from_before_a_password_change_cannot_open_or_renew_a_socket(
        app, connect, developer, token):
    stale = token(developer)
    open_socket = connect(developer)
    change_password(app, developer)
    refused = connect(developer, auth=False)
    refused.send(type="authenticate", token=stale)
    error = refused.expect("error")
    assert error["data"]["code"] == "AUTH_TOKEN_INVALID"
    assert "password was changed" in error["data"]["message"]
    assert refused.closed()
    # An open socket cannot be renewed with a stale token either.
    open_socket.send(type="authenticate", token=stale)
    assert "password was changed" in open_socket.expect("error")["data"]["message"]


def test_pages_socket_closes_after_a_password_change(app, sockets, developer, quick_recheck):
    client = page_login(app, developer)
    sock = sockets("topics=system", client=client)
    from app.realtime.hub import get_hub

    wait_for(lambda: any(s.user_id for s in get_hub(app).subscribers()), 5,
             message="the socket to register")
    change_password(app, developer)
    assert "Your password was changed" in sock.wait(lambda t: "Live updates stopped" in t)
    wait_for(lambda: (sock.drain(0.1), sock.closed)[1], 5, message="the socket to close")
