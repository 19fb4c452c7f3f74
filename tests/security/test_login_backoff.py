"""Per-account login back-off (issue 10 point 4): the same rule for the API and the login form,
kept in Redis, bounded, and immune to parallel guessing.

The back-off reads the clock through `app.services.login_throttle.time`; tests that need the
lock to pass move that clock instead of sleeping (Redis keeps its own real-time expiry)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest

from app.extensions import get_redis


@pytest.fixture
def clock(monkeypatch):
    """A controllable clock for the back-off (starts at the real time)."""
    import time as real_time

    from app.services import login_throttle

    class Clock:
        now = real_time.time()

        def time(self) -> float:
            return self.now

        def advance(self, seconds: float) -> None:
            self.now += seconds

    fake = Clock()
    monkeypatch.setattr(login_throttle, "time", fake)
    return fake


def api_login(client, username, password):
    return client.post("/api/auth/login", json={"username": username, "password": password})


def test_five_free_failures_then_a_growing_bounded_lock(client, developer, clock, app,
                                                        monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_BACKOFF_MAX", 30.0)
    codes = [api_login(client, developer.username, "wrong-guess").status_code for _ in range(6)]
    assert codes == [401] * 6                 # 5 free, the 6th is checked and starts a lock
    locked = api_login(client, developer.username, "wrong-guess")
    assert locked.status_code == 429
    err = locked.json["error"]
    assert err["code"] == "RATE_LIMIT_EXCEEDED"
    assert err["message"] == "Too many failed logins for this account. Try again in 2 seconds."
    assert err["details"] == {"retry_after": 2, "reason": "login_backoff"}
    assert locked.headers["Retry-After"] == "2"
    # The right password is not even looked at while locked (nothing to learn from it).
    assert api_login(client, developer.username, developer.password).status_code == 429

    waits = []
    for _ in range(6):
        clock.advance(int(locked.headers["Retry-After"]))
        assert api_login(client, developer.username, "wrong-guess").status_code == 401
        locked = api_login(client, developer.username, "wrong-guess")
        assert locked.status_code == 429
        waits.append(int(locked.headers["Retry-After"]))
    assert waits == [4, 8, 16, 30, 30, 30]    # doubling, never beyond LOGIN_BACKOFF_MAX

    clock.advance(30)
    ok = api_login(client, developer.username, developer.password)
    assert ok.status_code == 200              # the owner gets in once the lock has passed
    # ...and a success starts the count again: five free failures.
    assert [api_login(client, developer.username, "nope-nope").status_code
            for _ in range(5)] == [401] * 5


def test_refused_attempts_do_not_extend_the_lock(client, developer, clock):
    for _ in range(6):
        api_login(client, developer.username, "wrong-guess")
    for _ in range(20):                        # hammering while locked
        assert api_login(client, developer.username, "wrong-guess").status_code == 429
    clock.advance(2)
    assert api_login(client, developer.username, developer.password).status_code == 200


def test_default_cap_is_five_minutes(client, developer, clock):
    retry = 0
    for _ in range(14):
        clock.advance(retry)
        api_login(client, developer.username, "wrong-guess")
        resp = api_login(client, developer.username, "wrong-guess")
        retry = int(resp.headers.get("Retry-After", 0))
    assert retry == 300
    assert "Try again in 5 minutes." in resp.json["error"]["message"]


def test_unknown_names_are_throttled_the_same_way(client, developer):
    """The answer never tells an existing account from an unknown one."""
    for name in (developer.username, "no-such-user"):
        codes = [api_login(client, name, "wrong-guess").status_code for _ in range(7)]
        assert codes == [401] * 6 + [429]


def test_one_account_locked_does_not_lock_another(client, developer, make_user):
    other = make_user()
    for _ in range(7):
        api_login(client, developer.username, "wrong-guess")
    assert api_login(client, developer.username, developer.password).status_code == 429
    assert api_login(client, other.username, other.password).status_code == 200
    # Case does not make it another account.
    assert api_login(client, developer.username.upper(), developer.password).status_code == 429


def test_the_login_form_shares_the_account_back_off(client, developer):
    for _ in range(3):
        api_login(client, developer.username, "wrong-guess")
    form = {"username": developer.username, "password": "wrong-guess"}
    assert [client.post("/login", data=form).status_code for _ in range(3)] == [200] * 3
    page = client.post("/login", data={**form, "password": developer.password})
    assert page.status_code == 429 and page.headers["Retry-After"] == "2"
    assert b"Too many failed logins for this account. Try again in 2 seconds." in page.data
    assert client.get_cookie("access_token_cookie") is None
    htmx = client.post("/login", data=form, headers={"HX-Request": "true"})
    assert htmx.status_code == 200 and b"Too many failed logins" in htmx.data   # htmx swaps it
    assert api_login(client, developer.username, developer.password).status_code == 429


def test_state_is_in_redis_and_forgotten(client, app, developer, monkeypatch):
    """Every web process sees the same count (it lives in Redis) and it expires: after the
    window without attempts the free failures are back."""
    monkeypatch.setitem(app.config, "LOGIN_FREE_FAILURES", 2)
    monkeypatch.setitem(app.config, "LOGIN_BACKOFF_BASE", 0.2)
    monkeypatch.setitem(app.config, "LOGIN_FAILURE_WINDOW", 1)
    for _ in range(3):
        api_login(client, developer.username, "wrong-guess")
    with app.app_context():
        keys = get_redis().keys("auth:login-failures:*")
        assert len(keys) == 1
        assert 0 < get_redis().ttl(keys[0]) <= 2          # window + lock, rounded up
        from tests.live import wait_for

        wait_for(lambda: not get_redis().exists(keys[0]), 5, message="the count to expire")
    assert [api_login(client, developer.username, "wrong-guess").status_code
            for _ in range(3)] == [401, 401, 401]


def test_parallel_guesses_cannot_slip_past_the_count(live_server, developer):
    """Each attempt is counted before its password is checked, in one atomic step: 20 guesses
    sent at once get exactly 6 password checks (5 free + the one that starts the lock)."""
    codes: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(20)

    def guess():
        body = json.dumps({"username": developer.username, "password": "wrong-guess"}).encode()
        req = urllib.request.Request(f"{live_server}/api/auth/login", data=body,
                                     headers={"Content-Type": "application/json"})
        start.wait()
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                code = resp.status
        except urllib.error.HTTPError as exc:
            code = exc.code
        with lock:
            codes.append(code)

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(codes) == [401] * 6 + [429] * 14
