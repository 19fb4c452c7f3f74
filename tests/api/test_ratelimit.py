"""Rate limits on real Redis: per IP, per user, premium tier; headers; 429 envelope; the login
form in the API's bucket; health never counted."""

from __future__ import annotations

import time

import pytest


@pytest.fixture
def limits(app, monkeypatch):
    def set_limits(anonymous="100/minute", user="200/minute", premium="500/minute"):
        monkeypatch.setitem(app.config, "RATELIMIT_ANONYMOUS", anonymous)
        monkeypatch.setitem(app.config, "RATELIMIT_USER", user)
        monkeypatch.setitem(app.config, "RATELIMIT_PREMIUM", premium)

    return set_limits


def test_headers_on_every_api_response(client):
    resp = client.get("/api/nope")
    assert resp.headers["X-RateLimit-Limit"] == "100"
    assert resp.headers["X-RateLimit-Remaining"] == "99"
    assert resp.headers["X-RateLimit-Window"] == "60"
    assert int(resp.headers["X-RateLimit-Reset"]) > time.time()
    assert client.get("/api/auth/login").headers["X-RateLimit-Remaining"] == "98"  # a 405
    # Health shows the bucket without spending from it.
    health = client.get("/api/health/")
    assert health.headers["X-RateLimit-Limit"] == "100"
    assert health.headers["X-RateLimit-Remaining"] == "98"
    assert health.headers["X-RateLimit-Window"] == "60"
    assert int(health.headers["X-RateLimit-Reset"]) > time.time()


def test_anonymous_limit_hits_at_exactly_the_configured_count(client, limits):
    limits(anonymous="5/minute")
    remaining = [client.get("/api/nope").headers["X-RateLimit-Remaining"] for _ in range(5)]
    assert remaining == ["4", "3", "2", "1", "0"]
    blocked = client.get("/api/nope")
    assert blocked.status_code == 429
    err = blocked.json["error"]
    assert err["code"] == "RATE_LIMIT_EXCEEDED"
    assert err["details"]["limit"] == 5
    assert err["details"]["window"] == 60
    assert err["details"]["reset_at"].endswith("Z")
    assert blocked.json["meta"]["request_id"] == blocked.headers["X-Request-ID"]
    assert blocked.headers["X-RateLimit-Remaining"] == "0"
    assert int(blocked.headers["Retry-After"]) > 0


def test_users_have_their_own_bucket(client, limits, developer, make_user, auth):
    limits(anonymous="2/minute", user="3/minute")
    other = make_user()
    mine = [client.get("/api/users/profile", headers=auth(developer)).status_code
            for _ in range(4)]
    assert mine == [200, 200, 200, 429]
    # Another user and anonymous callers are unaffected by my bucket.
    assert client.get("/api/users/profile", headers=auth(other)).status_code == 200
    assert client.get("/api/health/").headers["X-RateLimit-Limit"] == "2"
    assert client.get("/api/users/profile", headers=auth(other)).headers[
        "X-RateLimit-Limit"] == "3"


def test_premium_tier_gets_the_premium_limit(client, limits, make_user, auth):
    limits(user="2/minute", premium="4/minute")
    premium = make_user(tier="premium")
    codes = [client.get("/api/users/profile", headers=auth(premium)).status_code
             for _ in range(5)]
    assert codes == [200, 200, 200, 200, 429]
    assert client.get("/api/users/profile", headers=auth(premium)).headers[
        "X-RateLimit-Limit"] == "4"


def test_counters_live_in_redis(client, app, limits):
    from app.extensions import get_redis

    client.get("/api/nope")
    with app.app_context():
        keys = [k.decode() for k in get_redis().keys("LIMITS:*/rl/*")]
    assert keys, "no rate-limit counters in Redis"


def test_pages_and_docs_are_not_api_limited(client, limits):
    limits(anonymous="1/minute")
    for _ in range(3):
        assert client.get("/login").status_code == 200
    assert "X-RateLimit-Limit" not in client.get("/login").headers


def test_health_is_never_counted_nor_refused(client, limits):
    """Load balancers probe health every few seconds from one address: those probes neither
    spend the anonymous bucket nor get a 429 when the bucket is empty."""
    limits(anonymous="3/minute")
    for _ in range(10):
        resp = client.get("/api/health/")
        assert resp.status_code == 200
        assert resp.headers["X-RateLimit-Remaining"] == "3"
    assert client.get("/api/health/detailed").status_code != 429
    assert [client.get("/api/nope").status_code for _ in range(4)] == [404, 404, 404, 429]
    after = client.get("/api/health/")
    assert after.status_code == 200 and after.headers["X-RateLimit-Remaining"] == "0"
    assert client.get("/api/health/detailed").status_code in (200, 503)


def test_login_form_counts_in_the_api_login_bucket(client, limits):
    """POST /login spends from the same per-IP bucket as POST /api/auth/login; refused, the
    form comes back with the reason (429 + Retry-After; 200 for htmx, which swaps only 2xx)."""
    limits(anonymous="3/minute")
    wrong = {"username": "nobody-a", "password": "wrong-password"}
    assert client.post("/api/auth/login", json=wrong).status_code == 401
    assert client.post("/login", data=wrong).status_code == 200   # wrong password, form again
    assert client.post("/api/auth/login", json=wrong).status_code == 401
    page = client.post("/login", data=wrong)
    assert page.status_code == 429 and int(page.headers["Retry-After"]) > 0
    assert b"Too many requests from your address" in page.data
    assert b'id="login-error"' in page.data
    htmx = client.post("/login", data=wrong, headers={"HX-Request": "true"})
    assert htmx.status_code == 200 and b"Too many requests from your address" in htmx.data
    api = client.post("/api/auth/login", json=wrong)
    assert api.status_code == 429 and api.json["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    # Other pages are not limited.
    assert client.get("/login").status_code == 200
