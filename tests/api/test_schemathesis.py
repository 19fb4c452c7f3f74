"""Property-based run of the whole JSON API from its own OpenAPI document (schemathesis).

Every operation in `/openapi.json` is called with generated requests -- the schema's examples,
its boundary and type-confusion cases (coverage phase) and a bounded number of random ones
(fuzzing) -- as an admin and as a developer, and every response goes through all of
schemathesis's checks: never a 5xx, status codes, content types, headers and bodies as
documented, schema-valid data accepted, invalid data refused.

The app is called in-process through WSGI (the real app, real Redis, real database). No worker
runs, so nothing a request queues is ever executed; on top of that the command lines of
positive cases are replaced by `echo ok`. Positive cases aim their path ids at resources made
for the test, so the operations are exercised beyond their 404s.

Budget: `SCHEMATHESIS_EXAMPLES` fuzzing examples per operation (default 5); the coverage phase
adds its own deterministic cases. `SCHEMATHESIS_SEED` picks another fixed seed for a longer
local hunt.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests import factories

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "5"))
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "20261206"))
RUNNING_COMMANDS = {("POST", "/api/commands/execute"), ("POST", "/api/tasks/"),
                    ("PUT", "/api/tasks/{task_id}")}
HARMLESS = "echo ok"
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]  # schemathesis's default

SETTINGS = {
    "seed": SEED,
    "generation": {"max-examples": EXAMPLES},
    "operations": [
        # The detailed health check answers 503 (with its report) when a dependency is not
        # healthy, as load balancers expect; here no worker runs, so "workers" is degraded.
        {"include-path": "/api/health/detailed",
         "checks": {"not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "503"]}}},
        # Rules no schema can state, checked by the service with a precise 422: a command's
        # directory must exist in the workspace; a project's `settings.members` must name
        # existing users and its free-form settings stay under 10 KB without NUL characters; a
        # time zone must exist in the tz database.
        *({"include-path": path, "include-method": method,
           "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "422"]}}}
          for method, path in (("POST", "/api/commands/execute"), ("POST", "/api/projects/"),
                               ("PUT", "/api/projects/{project_id}"),
                               ("PUT", "/api/users/preferences"))),
    ],
    # Not checked: the methods OPTIONS lists. Literal paths such as /api/tasks/bulk also match
    # /api/tasks/{task_id} (ids are validated as UUIDs by the endpoint, not by the route), so
    # OPTIONS there lists the methods of both.
    "checks": {"allow_header_conformance": {"enabled": False}},
}
CONFIG = schemathesis.Config.from_dict(SETTINGS)
# As a developer: the schema's examples and fuzzing, not the coverage phase again. That phase's
# cases (boundaries, wrong types, missing fields) are answered before any role matters or, on
# admin-only operations, all with the same 403; the admin run above goes through all of them.
DEVELOPER_CONFIG = schemathesis.Config.from_dict(
    {**SETTINGS, "phases": {"coverage": {"enabled": False}}})


def _schema(app, monkeypatch, config: schemathesis.Config):
    """The app's own document, served by the app; limits raised so the run is not throttled."""
    for name in ("RATELIMIT_ANONYMOUS", "RATELIMIT_USER", "RATELIMIT_PREMIUM"):
        monkeypatch.setitem(app.config, name, "1000000/minute")
    monkeypatch.setitem(app.config, "COMMAND_START_WAIT", 0)
    monkeypatch.setitem(app.config, "CANCEL_WAIT_SECONDS", 0)
    return schemathesis.openapi.from_wsgi("/openapi.json", app, config=config)


@pytest.fixture
def api_schema(app, monkeypatch):
    return _schema(app, monkeypatch, CONFIG)


@pytest.fixture
def api_schema_for_developer(app, monkeypatch):
    return _schema(app, monkeypatch, DEVELOPER_CONFIG)


schema = schemathesis.pytest.from_fixture("api_schema")
developer_schema = schemathesis.pytest.from_fixture("api_schema_for_developer")


def _caller(app, role: str) -> dict:
    """A user of `role`, a project of theirs with a task, and a fresh token per request (a
    fuzzed logout revokes the token it is sent with)."""
    with app.app_context():
        user = factories.user(role=role)
        project = factories.project(user, name="Fuzzed")
        task = factories.task(project, user, title="Fuzzed task")
        ids = {"project_id": str(project.id), "task_id": str(task.id)}

    def headers() -> dict[str, str]:
        with app.app_context():
            from flask_jwt_extended import create_access_token

            return {"Authorization": f"Bearer {create_access_token(identity=str(user.id))}"}

    return {"headers": headers, "ids": ids}


@pytest.fixture
def as_admin(app):
    return _caller(app, "admin")


@pytest.fixture
def as_developer(app):
    return _caller(app, "developer")


def _harmless(case) -> None:
    """Positive cases that carry a command line get `echo ok` instead (nothing runs anyway)."""
    if (case.method.upper(), case.path) not in RUNNING_COMMANDS:
        return
    if isinstance(case.body, dict) and isinstance(case.body.get("command"), str):
        case.body["command"] = HARMLESS


def _call(case, caller: dict) -> None:
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if positive:
        _harmless(case)
        for name, value in caller["ids"].items():
            if name in (case.path_parameters or {}):
                case.path_parameters[name] = value
    case.call_and_validate(headers=caller["headers"]())


@schema.parametrize()
@settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_as_admin(case, as_admin):
    _call(case, as_admin)


@developer_schema.parametrize()
@settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_as_developer(case, as_developer):
    _call(case, as_developer)
