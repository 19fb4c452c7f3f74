"""Redis stops while a user is logged in (issue 10 point 17): pages answer 503 with a page that
says so, never a redirect to the login form; public pages and health keep answering."""

from __future__ import annotations

import pytest

from app import create_app
from app.embedded_redis import EmbeddedRedis


@pytest.fixture
def doomed(app_config, tmp_path):
    """An app of its own on a private Redis the test may stop (never the shared one)."""
    server = EmbeddedRedis(tmp_path / "doomed")
    url = server.start()
    application = create_app({**app_config, "REDIS_URL": url,
                              "RATELIMIT_STORAGE_URI": url.replace("unix://", "redis+unix://")})
    yield application, server
    server.stop()


def test_logged_in_pages_answer_503_when_redis_stops(doomed, developer):
    application, server = doomed
    client = application.test_client()
    login = client.post("/login", data={"username": developer.username,
                                        "password": developer.password})
    assert login.status_code == 302
    assert client.get("/").status_code == 200
    assert client.get("/projects").status_code == 200

    server.stop()

    for path in ("/", "/projects", "/profile", "/queues"):
        page = client.get(path)
        assert page.status_code == 503, path
        assert page.mimetype == "text/html"
        assert b"session store (Redis) is not answering" in page.data
        assert b"Nothing was changed" in page.data
        assert "Location" not in page.headers
    fragment = client.get("/projects", headers={"HX-Request": "true"})
    assert fragment.status_code == 503                      # htmx shows the refusal, no swap
    write = client.post("/profile/preferences", data={"theme": "dark"}, headers={
        "X-CSRF-TOKEN": client.get_cookie("csrf_access_token").value, "HX-Request": "true"})
    assert write.status_code == 503
    # The API says the same in its envelope; health and the public login page still answer.
    api = client.get("/api/users/profile")
    assert api.status_code == 503 and api.json["error"]["code"] == "SYSTEM_OVERLOADED"
    assert client.get("/api/health/").status_code == 200
    anonymous = application.test_client()
    assert anonymous.get("/login").status_code == 200
    # Logging in cannot be counted by the back-off, so it is refused with a clear message.
    attempt = anonymous.post("/login", data={"username": developer.username,
                                             "password": developer.password})
    assert attempt.status_code == 503
    assert b"Logging in is unavailable for a moment" in attempt.data
    assert anonymous.get_cookie("access_token_cookie") is None
    api_login = anonymous.post("/api/auth/login", json={"username": developer.username,
                                                        "password": developer.password})
    assert api_login.status_code == 503
    assert api_login.json["error"]["code"] == "SYSTEM_OVERLOADED"
