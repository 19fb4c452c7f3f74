"""The `/ws/{session_id}` message protocol over real sockets: every client message, every error,
authentication, its timeout, and the per-user connection cap."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.live import wait_for
from tests.realtime.wsclient import WS


def test_authenticate_then_ping(connect, developer, new_session, token):
    session_id = new_session(developer)
    ws = connect(developer, session_id, auth=False)
    ws.send(type="authenticate", token=token(developer))
    ok = ws.recv()
    assert ok["type"] == "authenticated"
    assert ok["data"]["user_id"] == str(developer.id)
    assert ok["data"]["session_id"] == session_id
    assert ok["timestamp"].endswith("Z")
    ws.send(type="ping", timestamp=1690725600000)
    pong = ws.recv()
    assert pong["type"] == "pong"
    assert pong["client_timestamp"] == 1690725600000
    assert isinstance(pong["timestamp"], int) and pong["timestamp"] > 1690725600000


@pytest.fixture
def authed(connect, developer):
    return connect(developer)


@pytest.mark.parametrize("raw, code, field", [
    ("{not json", "VALIDATION_INVALID_FORMAT", "message"),
    ("[1, 2]", "VALIDATION_INVALID_FORMAT", "message"),
    ('{"token": "x"}', "VALIDATION_REQUIRED_FIELD", "type"),
    ('{"type": "dance"}', "VALIDATION_ERROR", "type"),
    ('{"type": "subscribe"}', "VALIDATION_REQUIRED_FIELD", "channel"),
    ('{"type": "subscribe", "channel": "weather"}', "VALIDATION_ERROR", "channel"),
    ('{"type": "subscribe", "channel": "project_updates"}', "VALIDATION_REQUIRED_FIELD",
     "project_id"),
    ('{"type": "subscribe", "channel": "task_updates"}', "VALIDATION_REQUIRED_FIELD",
     "task_id"),
    ('{"type": "subscribe", "channel": "command_output"}', "VALIDATION_REQUIRED_FIELD",
     "command_id"),
    ('{"type": "subscribe", "channel": "project_updates", "project_id": "nope"}',
     "VALIDATION_INVALID_FORMAT", "project_id"),
    ('{"type": "subscribe", "channel": "command_output", '
     '"command_id": "00000000-0000-0000-0000-000000000001", "after_seq": -1}',
     "VALIDATION_ERROR", "after_seq"),
    ('{"type": "execute_task"}', "VALIDATION_REQUIRED_FIELD", "task_id"),
    ('{"type": "execute_task", "task_id": "00000000-0000-0000-0000-000000000001", '
     '"priority": "urgent"}', "VALIDATION_ERROR", "priority"),
    ('{"type": "get_metrics", "metrics": ["weather"]}', "VALIDATION_ERROR", "metrics.0"),
])
def test_bad_messages_get_an_error_and_keep_the_connection(authed, raw, code, field):
    authed.send_raw(raw)
    error = authed.expect("error")
    assert error["data"]["code"] == code, error
    assert error["data"]["details"]["field"] == field, error
    assert error["data"]["message"]
    authed.send(type="ping")
    assert authed.expect("pong")


def test_messages_before_authenticate_are_refused_but_the_socket_stays(connect, developer,
                                                                      token):
    ws = connect(developer, auth=False)
    ws.send(type="subscribe", channel="system")
    error = ws.expect("error")
    assert error["data"]["code"] == "AUTH_TOKEN_MISSING"
    ws.send(type="authenticate", token=token(developer))
    assert ws.expect("authenticated")


@pytest.mark.parametrize("kind", ["garbage", "refresh", "expired", "revoked", "disabled"])
def test_a_bad_token_gets_an_error_and_the_socket_is_closed(app, connect, developer, token,
                                                            kind):
    from datetime import timedelta

    from flask_jwt_extended import create_refresh_token, decode_token

    value = {"garbage": lambda: "not-a-jwt",
             "expired": lambda: token(developer, expires_delta=timedelta(seconds=-5))}.get(
        kind, lambda: token(developer))()
    with app.app_context():
        if kind == "refresh":
            value = create_refresh_token(identity=str(developer.id))
        if kind == "revoked":
            from app.services.auth import revoke

            revoke(decode_token(value))
        if kind == "disabled":
            from app.extensions import db
            from app.models.user import User
            from app.services.users import set_disabled

            set_disabled(db.session.get(User, developer.id), True)
    ws = connect(developer, auth=False)
    ws.send(type="authenticate", token=value)
    error = ws.expect("error")
    expected = "AUTH_ACCOUNT_DISABLED" if kind == "disabled" else "AUTH_TOKEN_INVALID"
    assert error["data"]["code"] == expected
    assert ws.closed()


def test_session_must_exist_belong_to_the_caller_and_be_a_uuid(connect, developer, make_user,
                                                              token, new_session):
    other = make_user()
    for session_id, code in [(new_session(other), "SESSION_NOT_FOUND"),
                             ("00000000-0000-0000-0000-000000000000", "SESSION_NOT_FOUND"),
                             ("not-a-uuid", "SESSION_NOT_FOUND")]:
        ws = connect(developer, session_id, auth=False)
        ws.send(type="authenticate", token=token(developer))
        assert ws.expect("error")["data"]["code"] == code
        assert ws.closed()


def test_authentication_timeout_closes_after_an_error(app, connect, developer, monkeypatch):
    monkeypatch.setitem(app.config, "WS_AUTH_TIMEOUT", 0.5)
    ws = connect(developer, auth=False)
    error = ws.expect("error", timeout=5)
    assert error["data"]["code"] == "AUTH_TOKEN_MISSING"
    assert "authenticate" in error["data"]["message"]
    assert ws.closed()


def test_connection_cap_per_user(app, connect, developer, make_user, token, new_session,
                                 monkeypatch):
    monkeypatch.setitem(app.config, "WS_MAX_CONNECTIONS_PER_USER", 2)
    session_id = new_session(developer)
    first = connect(developer, session_id)
    connect(developer, session_id)
    third = connect(developer, session_id, auth=False)
    third.send(type="authenticate", token=token(developer))
    error = third.expect("error")
    assert error["data"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert error["data"]["details"]["limit"] == 2
    assert third.closed()
    connect(make_user())  # another user is not affected
    first.close()
    with app.app_context():
        from app.realtime import limits

        wait_for(lambda: limits.count(str(developer.id)) == 1, 5, message="slot released")
    connect(developer, session_id)


def test_health_counts_open_sockets(server, connect, developer):
    def count() -> int:
        with urllib.request.urlopen(f"{server}/api/health/detailed") as resp:
            return json.load(resp)["data"]["checks"]["websocket"]["active_connections"]

    def detailed() -> int:
        try:
            return count()
        except urllib.error.HTTPError as exc:  # 503 when no worker runs: still has the count
            return json.load(exc)["data"]["checks"]["websocket"]["active_connections"]

    a = connect(developer)
    connect(developer)
    wait_for(lambda: detailed() == 2, 5, message="2 sockets counted")
    a.close()
    wait_for(lambda: detailed() == 1, 5, message="1 socket counted")


def test_get_metrics_answers_with_measured_figures(authed):
    authed.send(type="get_metrics", metrics=["performance", "queue_status", "system_health"])
    data = authed.expect("performance_data")["data"]
    assert 0 <= data["cpu_usage"] <= 100 and 0 < data["memory_usage"] <= 100
    assert data["active_connections"] >= 1
    assert data["tasks_per_minute"] == 0
    assert set(data["queue_sizes"]) == {"high", "normal", "low"}
    assert set(data["queue_status"]) == {"high", "normal", "low"}
    assert data["system_health"]["checks"]["database"]["status"] == "healthy"
    authed.send(type="get_metrics", metrics=["queue_status"])
    only = authed.expect("performance_data")["data"]
    assert "queue_status" in only and "cpu_usage" not in only


def test_system_channel_sends_performance_data_periodically(app, authed, monkeypatch):
    monkeypatch.setitem(app.config, "WS_PERFORMANCE_INTERVAL", 0.5)
    authed.send(type="subscribe", channel="system")
    assert authed.expect("subscribed")["data"] == {"channel": "system"}
    first = authed.expect("performance_data")  # right away
    assert set(first["data"]) == {"cpu_usage", "memory_usage", "active_connections",
                                  "tasks_per_minute", "queue_sizes"}
    authed.expect("performance_data", timeout=10)  # and again from the hub
    authed.send(type="unsubscribe", channel="system")
    assert authed.expect("unsubscribed")["data"]["was_subscribed"] is True


def test_unsubscribe_something_never_subscribed(authed):
    authed.send(type="unsubscribe", channel="task_updates",
                task_id="00000000-0000-0000-0000-000000000001")
    data = authed.expect("unsubscribed")["data"]
    assert data == {"channel": "task_updates", "task_id": "00000000-0000-0000-0000-000000000001",
                    "was_subscribed": False}


def test_forbidden_and_unknown_channels(authed, make_user, project_of, task_of):
    stranger = make_user()
    theirs = project_of(stranger)
    their_task = task_of(theirs, stranger)
    cases = [
        ({"channel": "project_updates", "project_id": str(theirs.id)}, "PROJECT_ACCESS_DENIED"),
        ({"channel": "task_updates", "project_id": str(theirs.id)}, "PROJECT_ACCESS_DENIED"),
        ({"channel": "task_updates", "task_id": str(their_task.id)}, "PROJECT_ACCESS_DENIED"),
        ({"channel": "project_updates", "project_id": "00000000-0000-0000-0000-000000000009"},
         "PROJECT_NOT_FOUND"),
        ({"channel": "task_updates", "task_id": "00000000-0000-0000-0000-000000000009"},
         "TASK_NOT_FOUND"),
        ({"channel": "command_output", "command_id": "00000000-0000-0000-0000-000000000009"},
         "COMMAND_NOT_FOUND"),
        ({"channel": "command_output", "execution_id": "00000000-0000-0000-0000-000000000009"},
         "EXECUTION_NOT_FOUND"),
    ]
    for body, code in cases:
        authed.send(type="subscribe", **body)
        assert authed.expect("error")["data"]["code"] == code, body
    authed.send(type="ping")
    assert authed.expect("pong")


def test_a_token_can_be_renewed_on_an_open_socket(authed, developer, make_user, token):
    authed.send(type="authenticate", token=token(developer))
    assert authed.expect("authenticated")["data"]["user_id"] == str(developer.id)
    authed.send(type="authenticate", token=token(make_user()))
    assert authed.expect("error")["data"]["code"] == "AUTH_TOKEN_INVALID"
    authed.send(type="ping")
    assert authed.expect("pong")


def test_socket_route_only_answers_websocket_upgrades(server):
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(f"{server}/ws/00000000-0000-0000-0000-000000000000")


def test_ws_client_helper_reports_silence(server, developer, new_session):
    ws = WS(server, new_session(developer))
    try:
        assert ws.quiet(0.2) == []
    finally:
        ws.close()
