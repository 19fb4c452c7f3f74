"""Every error code of the reference, reached through a real request where one exists.

Codes that only a running process can produce (execution failures, timeouts, cancels, a socket
falling behind) are reached by the engine and realtime suites; `ELSEWHERE` names those tests
and a check below makes sure they still exist.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app import create_app
from app.errors import ERROR_CODES
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT.parent / "shared" / "spec" / "api-reference.md"

ELSEWHERE = {
    "TASK_EXECUTION_FAILED": "tests/jobs/test_claude.py::test_missing_binary_fails_without_"
                             "crashing_the_worker",
    "TASK_TIMEOUT": "tests/jobs/test_shell.py::test_timeout_fails_with_task_timeout_and_kills_"
                    "the_group",
    "TASK_CANCELLED": "tests/commands/test_commands_api.py::test_running_then_cancel_kills_the_"
                      "whole_group",
    "WEBSOCKET_CONNECTION_FAILED": "tests/realtime/test_slow_clients.py::test_a_client_that_"
                                   "falls_too_far_behind_is_told_and_disconnected",
    "QUEUE_FULL": "tests/jobs/test_execute_api.py::test_queue_full_is_503_and_writes_nothing",
    "SYSTEM_OVERLOADED": "tests/api/test_health.py::test_stopped_redis_is_unhealthy_and_"
                         "nothing_500s",
    "RATE_LIMIT_EXCEEDED": "tests/api/test_ratelimit.py::test_anonymous_limit_hits_at_"
                           "exactly_the_configured_count",
    "SYSTEM_MAINTENANCE": "tests/api/test_maintenance.py::test_writes_refused_reads_allowed",
}


def reference_codes() -> set[str]:
    text = REFERENCE.read_text() if REFERENCE.exists() else ""
    section = text.split("## Error Codes", 1)[-1].split("## Rate Limiting", 1)[0]
    return set(re.findall(r"^- `([A-Z_]+)`", section, flags=re.M))


@pytest.fixture
def world(app, developer, viewer, make_user):
    """A developer's project with two tasks; a stranger; a viewer member."""
    with app.app_context():
        project = factories.project(developer, resource_limits={"max_tasks": 3},
                                    settings={"members": [str(viewer.id)]})
        first = factories.task(project, developer, "first", executor="shell", command="true")
        second = factories.task(project, developer, "second", executor="shell", command="true")
    return {"project": project, "first": first, "second": second,
            "stranger": make_user(role="developer")}


def code_of(resp) -> str:
    assert resp.json["error"] is not None, resp.json
    return resp.json["error"]["code"]


def test_every_reference_code_is_catalogued():
    codes = reference_codes()
    if not codes:
        pytest.skip("the API reference is not beside this checkout")
    assert codes - set(ERROR_CODES) == set()


def test_codes_reached_elsewhere_still_have_their_tests():
    for code, node in ELSEWHERE.items():
        path, name = node.split("::")
        assert f"def {name}(" in (ROOT / path).read_text(), f"{code}: {node} is gone"


def test_auth_codes(client, auth, developer, viewer):
    assert code_of(client.get("/api/users/profile")) == "AUTH_TOKEN_MISSING"
    bad = client.get("/api/users/profile", headers={"Authorization": "Bearer x.y.z"})
    assert code_of(bad) == "AUTH_TOKEN_INVALID"
    denied = client.post("/api/projects/", headers=auth(viewer), json={"name": "nope"})
    assert (denied.status_code, code_of(denied)) == (403, "AUTH_INSUFFICIENT_PERMISSIONS")


def test_account_disabled(client, app, developer):
    from app.extensions import db
    from app.models import User
    from app.services.users import set_disabled

    with app.app_context():
        set_disabled(db.session.get(User, developer.id), True)
    resp = client.post("/api/auth/login", json={"username": developer.username,
                                                "password": developer.password})
    assert (resp.status_code, code_of(resp)) == (403, "AUTH_ACCOUNT_DISABLED")


def test_validation_codes(client, auth, developer, world):
    headers = auth(developer)
    pid = str(world["project"].id)
    cases = [
        ({"title": "x"}, "VALIDATION_REQUIRED_FIELD"),                      # project_id missing
        ({"title": "x" * 201, "project_id": pid}, "VALIDATION_VALUE_TOO_LONG"),
        ({"title": "", "project_id": pid}, "VALIDATION_VALUE_TOO_SHORT"),
        ({"title": "x", "project_id": pid, "estimated_duration": "2 hours"},
         "VALIDATION_INVALID_FORMAT"),
        ({"title": "x", "project_id": pid, "priority": 99}, "VALIDATION_ERROR"),
    ]
    for body, expected in cases:
        resp = client.post("/api/tasks/", headers=headers, json=body)
        assert (resp.status_code, code_of(resp)) == (422, expected), body
        assert resp.json["error"]["details"]["field"]


def test_resource_codes(client, auth, developer, world):
    headers = auth(developer)
    first, second = world["first"], world["second"]
    assert code_of(client.get("/api/nothing-here")) == "RESOURCE_NOT_FOUND"
    url = f"/api/tasks/{first.id}/dependencies"
    body = {"depends_on_task_id": str(second.id), "dependency_type": "blocks"}
    assert client.post(url, headers=headers, json=body).status_code == 201
    again = client.post(url, headers=headers, json=body)
    assert (again.status_code, code_of(again)) == (409, "RESOURCE_ALREADY_EXISTS")
    # A project with a run in flight cannot be deleted.
    run = client.post(f"/api/tasks/{second.id}/execute", headers=headers,
                      json={"priority": "low"})
    assert run.status_code in (200, 201, 202), run.json
    busy = client.delete(f"/api/projects/{world['project'].id}", headers=headers)
    assert (busy.status_code, code_of(busy)) == (409, "RESOURCE_IN_USE")


def test_resource_limit_exceeded(client, auth, developer, app, world):
    from app.services import dependencies

    headers = auth(developer)
    with app.app_context():
        project = factories.project(developer)
        hub = factories.task(project, developer, "hub")
        others = [factories.task(project, developer, f"dep {i}")
                  for i in range(dependencies.MAX_DEPENDENCIES + 1)]
    url = f"/api/tasks/{hub.id}/dependencies"
    codes = [client.post(url, headers=headers, json={"depends_on_task_id": str(o.id)})
             for o in others]
    assert [r.status_code for r in codes[:-1]] == [201] * dependencies.MAX_DEPENDENCIES
    assert (codes[-1].status_code, code_of(codes[-1])) == (409, "RESOURCE_LIMIT_EXCEEDED")


def test_task_codes(client, auth, developer, world):
    headers = auth(developer)
    first, second = world["first"], world["second"]
    missing = client.get("/api/tasks/00000000-0000-0000-0000-000000000000", headers=headers)
    assert (missing.status_code, code_of(missing)) == (404, "TASK_NOT_FOUND")
    client.post(f"/api/tasks/{first.id}/dependencies", headers=headers,
                json={"depends_on_task_id": str(second.id)})
    blocked = client.post(f"/api/tasks/{first.id}/execute", headers=headers, json={})
    assert (blocked.status_code, code_of(blocked)) == (409, "TASK_DEPENDENCY_NOT_MET")
    assert client.post(f"/api/tasks/{second.id}/execute", headers=headers,
                       json={}).status_code < 300
    twice = client.post(f"/api/tasks/{second.id}/execute", headers=headers, json={})
    assert (twice.status_code, code_of(twice)) == (409, "TASK_ALREADY_RUNNING")


def test_project_codes(client, auth, app, developer, world):
    headers = auth(developer)
    project = world["project"]
    gone = client.get("/api/projects/00000000-0000-0000-0000-000000000000", headers=headers)
    assert (gone.status_code, code_of(gone)) == (404, "PROJECT_NOT_FOUND")
    other = client.get(f"/api/projects/{project.id}", headers=auth(world["stranger"]))
    assert (other.status_code, code_of(other)) == (403, "PROJECT_ACCESS_DENIED")
    full = client.post("/api/tasks/", headers=headers,
                       json={"title": "x", "project_id": str(project.id)})
    assert full.status_code == 201                     # third of max_tasks = 3
    over = client.post("/api/tasks/", headers=headers,
                       json={"title": "y", "project_id": str(project.id)})
    assert (over.status_code, code_of(over)) == (409, "PROJECT_LIMIT_EXCEEDED")
    client.put(f"/api/projects/{project.id}", headers=headers, json={"status": "archived"})
    archived = client.put(f"/api/tasks/{world['first'].id}", headers=headers,
                          json={"title": "renamed"})
    assert (archived.status_code, code_of(archived)) == (409, "PROJECT_ARCHIVED")


def test_database_error(app_config, developer, auth):
    broken = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": "sqlite:////nonexistent/x.db"})
    resp = broken.test_client().get("/api/users/profile", headers=auth(developer))
    assert (resp.status_code, code_of(resp)) == (503, "DATABASE_ERROR")
    assert "Traceback" not in resp.get_data(as_text=True)
