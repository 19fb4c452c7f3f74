"""Open redirects after login, OPTIONS on the API, /rq read-only, security headers (issue 10
points 6, 7, 10)."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry

from app.extensions import get_redis
from app.pages.auth import safe_next

EVIL = [
    "/\\evil.example", "/%5Cevil.example", "\\\\evil.example", "//evil.example",
    "///evil.example", "/\t/evil.example", "/\n/evil.example", "/%09/evil.example",
    "https://evil.example/", "https:evil.example", "javascript:alert(1)", "evil.example",
    " /evil", "/ /evil", "/\x00/evil", "/\\/evil.example", "",
]


@pytest.mark.parametrize("target", EVIL)
def test_safe_next_refuses_anything_but_a_same_origin_path(target):
    # `/%09/...` reaches the view decoded, as a tab: test both spellings.
    assert safe_next(target) == "/"
    assert safe_next(unquote(target)) == "/"


@pytest.mark.parametrize("target", ["/", "/projects", "/tasks/abc?tab=runs",
                                    "/projects?search=a%20b&page=2", "/rq/"])
def test_safe_next_keeps_local_paths(target):
    assert safe_next(target) == target


def test_login_form_never_redirects_off_site(client, developer):
    """The issue's example, through the real page: GET /login?next=/%5Cevil.example."""
    page = client.get("/login?next=/%5Cevil.example")
    assert b'name="next" value="/"' in page.data
    for target in ("/\\evil.example", "/\t/evil.example", "//evil.example"):
        done = client.post("/login", data={"username": developer.username,
                                           "password": developer.password, "next": target})
        assert done.status_code == 302 and done.headers["Location"] == "/"
        client.post("/logout", data={"csrf_token": client.get_cookie("csrf_access_token").value})
    logged_in = client.post("/login", data={"username": developer.username,
                                            "password": developer.password})
    assert logged_in.status_code == 302
    again = client.get("/login?next=/%5Cevil.example")    # already logged in: redirects
    assert again.status_code == 302 and again.headers["Location"] == "/"
    ok = client.get("/login?next=/projects")
    assert ok.headers["Location"] == "/projects"


def test_options_on_every_api_route_is_answered(app, client, developer, auth, monkeypatch):
    """Anonymous or not, OPTIONS gets 200 with the route's methods (never a 500)."""
    monkeypatch.setitem(app.config, "RATELIMIT_ANONYMOUS", "10000/minute")
    monkeypatch.setitem(app.config, "RATELIMIT_USER", "10000/minute")
    seen = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api"):
            continue
        path = rule.rule
        for arg in rule.arguments:
            path = path.replace(f"<{arg}>", "00000000-0000-0000-0000-000000000000")
            for conv in ("uuid", "int", "string", "path"):
                path = path.replace(f"<{conv}:{arg}>", "00000000-0000-0000-0000-000000000000"
                                    if conv in ("uuid", "string", "path") else "1")
        for headers in ({}, auth(developer), {"Authorization": "Bearer not-a-token"}):
            resp = client.options(path, headers=headers)
            assert resp.status_code == 200, (path, resp.status_code, resp.get_data()[:200])
            allowed = {m.strip() for m in resp.headers["Allow"].split(",")}
            assert "OPTIONS" in allowed and set(rule.methods) <= allowed
            assert resp.json["data"]["allow"] == sorted(allowed)
            assert resp.json["error"] is None
        seen += 1
    assert seen > 30
    # An unknown /api path is still a 404 envelope.
    assert client.options("/api/nope").status_code == 404


def test_options_changes_nothing_and_needs_no_token(client, developer, auth):
    resp = client.options("/api/users/preferences")
    assert resp.status_code == 200 and "PUT" in resp.headers["Allow"]
    profile = client.get("/api/users/profile", headers=auth(developer)).json["data"]
    assert profile["preferences"]["theme"] == "light"


@pytest.fixture
def admin_browser(app, admin):
    client = app.test_client()
    client.post("/login", data={"username": admin.username, "password": admin.password})
    return client


@pytest.fixture
def failed_job(app):
    """A job in the failed registry of queue `rqtest` (what the dashboard's requeue moves)."""
    with app.app_context():
        queue = Queue("rqtest", connection=get_redis())
        job = queue.enqueue("os.getcwd")
        queue.remove(job)
        FailedJobRegistry(queue=queue).add(job, ttl=600, exc_string="boom")
        return job.id


def _state(app, job_id):
    with app.app_context():
        queue = Queue("rqtest", connection=get_redis())
        return (Job.exists(job_id, connection=get_redis()), queue.count,
                job_id in FailedJobRegistry(queue=queue).get_job_ids())


@pytest.mark.parametrize("method, path", [
    ("GET", "/rq/requeue/rqtest"), ("POST", "/rq/requeue/rqtest"),
    ("POST", "/rq/job/{job}/requeue"), ("POST", "/rq/job/{job}/delete"),
    ("POST", "/rq/queue/rqtest/failed/empty"), ("POST", "/rq/queue/rqtest/queued/empty"),
    ("POST", "/rq/queue/rqtest/compact"),
])
def test_rq_dashboard_actions_are_refused_whatever_the_method(app, admin_browser, failed_job,
                                                              method, path):
    before = _state(app, failed_job)
    assert before == (True, 0, True)
    csrf = admin_browser.get_cookie("csrf_access_token").value
    resp = admin_browser.open(path.format(job=failed_job), method=method,
                              headers={"X-CSRF-TOKEN": csrf})
    assert resp.status_code == 403
    assert resp.json["error"]["code"] == "AUTH_INSUFFICIENT_PERMISSIONS"
    assert "read-only" in resp.json["error"]["message"]
    assert _state(app, failed_job) == before


def test_rq_dashboard_stays_viewable_for_admins(admin_browser, failed_job):
    for path in ("/rq/", "/rq/0/view/workers", "/rq/0/view/jobs",
                 "/rq/0/view/jobs/rqtest/failed/8/asc/1", f"/rq/0/view/job/{failed_job}",
                 "/rq/0/data/queues.json", "/rq/0/data/workers.json",
                 "/rq/0/data/jobs/rqtest/failed/8/asc/1.json",
                 f"/rq/0/data/job/{failed_job}.json"):
        assert admin_browser.get(path).status_code == 200, path


def test_security_headers_on_pages(client, developer):
    page = client.get("/login")
    csp = page.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"                 # no inline script, no eval
    assert "'unsafe-inline'" not in directives["style-src"]
    assert directives["style-src-attr"] == "'unsafe-inline'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert directives["connect-src"].startswith("'self'")
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert client.get("/no/such/page").headers["X-Frame-Options"] == "DENY"
    static = client.get("/static/js/app.js")
    assert static.headers["X-Content-Type-Options"] == "nosniff"


def test_security_headers_on_api_docs_and_rq(client, admin_browser):
    api = client.get("/api/health/")
    assert api.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert api.headers["X-Content-Type-Options"] == "nosniff"
    for resp in (client.get("/docs/"), admin_browser.get("/rq/")):
        assert resp.status_code == 200
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
        assert resp.headers["X-Frame-Options"] == "DENY"


def test_htmx_indicator_style_hash_matches_the_vendored_htmx():
    """The CSP allows htmx's own <style> by hash: the hashed text must be what htmx inserts."""
    from pathlib import Path

    from app.security_headers import HTMX_INDICATOR_STYLE

    source = (Path(__file__).resolve().parents[2] / "static" / "vendor"
              / "htmx-2.0.11.min.js").read_text()
    template = ("`.${t}{opacity:0;visibility: hidden} `+`.${n} .${t}, .${n}.${t}"
                "{opacity:1;visibility: visible;transition: opacity 200ms ease-in}`")
    assert template in source
    assert (
        template.replace("`+`", "").strip("`").replace("${t}", "htmx-indicator")
        .replace("${n}", "htmx-request")) == HTMX_INDICATOR_STYLE
