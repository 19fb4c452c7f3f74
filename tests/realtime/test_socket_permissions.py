"""Every socket message follows the rules of its REST twin: the same permission, the same
validation, the same service, and so the same answer (issue 10, point 2).

Each case sends the same request both ways -- over a real socket and to the REST route -- and
compares what comes back, then checks in the database that a refusal changed nothing.
"""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select

from tests import factories

BAD_OPTIONS = [
    ({"timeout": "abc"}, "options.timeout"),
    ({"timeout": 0}, "options.timeout"),
    ({"retry_attempts": 1000}, "options.retry_attempts"),
    ({"retry_attempts": 2**70}, "options.retry_attempts"),
    ({"force": 1}, "options.force"),
    ({"bogus": 1}, "options.bogus"),
    ({"environment": {"BASH_ENV": "/tmp/evil.sh"}}, "options.environment.BASH_ENV"),
    ({"environment": {"PERL5OPT": "-Mevil"}}, "options.environment.PERL5OPT"),
    ({"environment": {"LD_PRELOAD": "/tmp/evil.so"}}, "options.environment.LD_PRELOAD"),
    ({"environment": {"not a name": "x"}}, "options.environment.not a name"),
]


@pytest.fixture
def world(app):
    """A developer's project with a viewer member, and a pending task in it."""
    with app.app_context():
        owner = factories.user(role="developer")
        viewer = factories.user(role="viewer")
        project = factories.project(owner, settings={"members": [str(viewer.id)]})
        task = factories.task(project, owner, title="Build")
    return {"owner": owner, "viewer": viewer, "project": project, "task": task}


def _executions(app, task) -> int:
    with app.app_context():
        from app.extensions import db
        from app.models.execution import TaskExecution

        return db.session.scalar(select(func.count()).select_from(TaskExecution)
                                 .where(TaskExecution.task_id == task.id))


def _rest_error(client, auth, user, task, body) -> dict:
    resp = client.post(f"/api/tasks/{task.id}/execute", json=body, headers=auth(user))
    assert resp.status_code in (403, 422), resp.get_json()
    return resp.get_json()["error"]


def _socket_error(ws, task, body) -> dict:
    ws.send(type="execute_task", task_id=str(task.id), **body)
    return ws.expect("error")["data"]


def test_a_viewer_member_cannot_run_a_task_over_the_socket(app, client, auth, connect, world):
    ws = connect(world["viewer"])
    got = _socket_error(ws, world["task"], {"priority": "high"})
    rest = _rest_error(client, auth, world["viewer"], world["task"], {"priority": "high"})
    assert got["code"] == rest["code"] == "AUTH_INSUFFICIENT_PERMISSIONS"
    assert got["details"]["required"] == rest["details"]["required"] == ["execute"]
    assert _executions(app, world["task"]) == 0
    ws.send(type="ping")
    assert ws.expect("pong")  # the connection stays


def test_permission_comes_before_validation_like_on_the_route(client, auth, connect, world):
    body = {"options": {"timeout": "abc"}}
    got = _socket_error(connect(world["viewer"]), world["task"], body)
    rest = _rest_error(client, auth, world["viewer"], world["task"], body)
    assert got["code"] == rest["code"] == "AUTH_INSUFFICIENT_PERMISSIONS"


@pytest.mark.parametrize("options, field", BAD_OPTIONS)
def test_bad_options_are_refused_like_the_rest_route(app, client, auth, connect, world,
                                                     options, field):
    body = {"options": options}
    got = _socket_error(connect(world["owner"]), world["task"], body)
    rest = _rest_error(client, auth, world["owner"], world["task"], body)
    assert (got["code"], got["details"]["field"]) == (rest["code"], rest["details"]["field"])
    assert got["code"].startswith("VALIDATION_") and got["details"]["field"] == field, got
    assert _executions(app, world["task"]) == 0


def test_a_good_execute_task_runs_through_the_same_service(app, connect, world):
    ws = connect(world["owner"])
    ws.send(type="execute_task", task_id=str(world["task"].id), priority="low_priority",
            options={"timeout": 30, "retry_attempts": 2, "environment": {"GREETING": "hi"}})
    update = ws.expect("task_update", where=lambda m: m["data"].get("event") == "execute_task")
    with app.app_context():
        from app.extensions import db
        from app.models.execution import TaskExecution

        run = db.session.get(TaskExecution, uuid.UUID(update["data"]["execution_id"]))
        assert run.queue == "low"
        assert run.options["timeout"] == 30 and run.options["retry_attempts"] == 2
        assert run.options["environment"] == {"GREETING": "hi"}


def test_messages_before_authenticate_are_refused_before_validation(connect, world):
    ws = connect(world["owner"], auth=False)
    ws.send(type="execute_task", task_id="not-a-uuid", options={"timeout": "abc"})
    assert ws.expect("error")["data"]["code"] == "AUTH_TOKEN_MISSING"


def test_subscribing_to_a_run_of_a_deleted_task_answers_like_rest(app, client, auth, connect,
                                                                  world):
    with app.app_context():
        run_id = factories.execution(world["task"], world["owner"], status="completed")
    resp = client.delete(f"/api/tasks/{world['task'].id}", headers=auth(world["owner"]))
    assert resp.status_code == 200
    rest = client.get(f"/api/executions/{run_id}", headers=auth(world["owner"])).get_json()
    ws = connect(world["owner"])
    ws.send(type="subscribe", channel="command_output", execution_id=str(run_id))
    got = ws.expect("error")["data"]
    assert got["code"] == rest["error"]["code"] == "EXECUTION_NOT_FOUND"


@pytest.mark.parametrize("raw, code, field", [
    (json.dumps({"type": "subscribe", "channel": "command_output",
                 "command_id": "00000000-0000-0000-0000-000000000001", "after_seq": 2**70}),
     "VALIDATION_ERROR", "after_seq"),
    ('{"type": "ping", "timestamp": ' + "[" * 1000 + "]" * 1000 + "}",
     "VALIDATION_ERROR", "message"),
    ('{"type": "authenticate", "token": "\\ud800"}', "VALIDATION_INVALID_FORMAT", "message"),
])
def test_socket_frames_get_the_same_input_limits_as_bodies(connect, world, raw, code, field):
    ws = connect(world["owner"])
    ws.send_raw(raw)
    error = ws.expect("error")["data"]
    assert (error["code"], error["details"]["field"]) == (code, field), error
    ws.send(type="ping")
    assert ws.expect("pong")
