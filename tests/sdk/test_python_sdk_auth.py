"""The Python SDK's token refresh (the server issues 2-second access tokens) and its 429 retry
(the server allows 3 requests a second), against the real app in gunicorn."""

from __future__ import annotations

import time

import httpx
import pytest
from claude_cli_sdk import AuthenticationError, ClaudeCliClient, RateLimitError

from tests.live import wait_for


def _expired(url: str, token: str) -> bool:
    resp = httpx.get(f"{url}/api/users/profile", headers={"Authorization": f"Bearer {token}"})
    return resp.status_code == 401 and resp.json()["error"]["code"] == "AUTH_TOKEN_INVALID"


def test_an_expired_access_token_is_refreshed_and_the_call_goes_through(sdk_server, make_user):
    server = sdk_server(JWT_ACCESS_SECONDS=2)
    user = make_user(role="developer")
    seen: list[tuple[str, str | None]] = []
    client = ClaudeCliClient(f"{server.url}/api", on_tokens=lambda a, r: seen.append((a, r)))
    client.login(user.username, user.password)
    first, refresh = client.access_token, client.refresh_token
    project = client.projects.create(name="Before expiry")

    wait_for(lambda: _expired(server.url, first), 10, 0.2, "the access token to expire")
    assert client.projects.get(project.id).name == "Before expiry"  # refreshed, then retried
    assert client.access_token not in (None, first)
    assert client.refresh_token == refresh
    assert seen[-1] == (client.access_token, refresh)

    socket_client = ClaudeCliClient(f"{server.url}/api", token=first, refresh_token=refresh)
    session = client.sessions.create()
    with socket_client.websocket.connect(session.session_id) as ws:  # refreshed there too
        assert ws.authenticated.data.username == user.username
    assert socket_client.access_token != first

    stale = ClaudeCliClient(f"{server.url}/api", token=first)  # nothing to refresh with
    with pytest.raises(AuthenticationError) as exc:
        stale.tasks.list()
    assert (exc.value.status_code, exc.value.code) == (401, "AUTH_TOKEN_INVALID")

    relogin = ClaudeCliClient(f"{server.url}/api", token=first, username=user.username,
                              password=user.password)
    assert relogin.tasks.list().total == 0  # with credentials it logs in again instead
    assert relogin.access_token != first


def test_429_is_retried_after_retry_after(sdk_server, make_user):
    server = sdk_server(RATELIMIT_USER="3/1second")
    user = make_user(role="developer")
    events: list[tuple[float, int, str | None]] = []

    def record(response: httpx.Response) -> None:
        if response.request.url.path == "/api/tasks/":
            events.append((time.monotonic(), response.status_code,
                           response.headers.get("Retry-After")))

    http = httpx.Client(event_hooks={"response": [record]})
    client = ClaudeCliClient(f"{server.url}/api", http_client=http, max_retries=5)
    client.login(user.username, user.password)

    with client:
        pages = [client.tasks.list() for _ in range(7)]  # more than two windows allow
    assert all(p.total == 0 for p in pages)
    limited = [i for i, (_, status, _) in enumerate(events) if status == 429]
    assert limited, "the server never said 429: the test proves nothing"
    assert sum(1 for _, status, _ in events if status == 200) == 7
    for i in limited:
        at, _, retry_after = events[i]
        assert retry_after is not None
        assert events[i + 1][0] - at >= max(float(retry_after), 0.25) - 0.05  # waited as told

    impatient = ClaudeCliClient(f"{server.url}/api", token=client.access_token, max_retries=0)
    with impatient, pytest.raises(RateLimitError) as exc:
        for _ in range(10):
            impatient.tasks.list()
    assert (exc.value.status_code, exc.value.code) == (429, "RATE_LIMIT_EXCEEDED")
    assert exc.value.retry_after >= 0 and exc.value.details["limit"] == 3
