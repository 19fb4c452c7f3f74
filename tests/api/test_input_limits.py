"""Input that parses but must not go further gets a 422, never a 500 (issue 10, points 9, 11).

- integers beyond 64 bits in any query or body field (they reached the database, which raised
  OverflowError);
- JSON nested deeper than MAX_JSON_DEPTH (a RecursionError while parsing), on every JSON
  route, login included;
- lone surrogates (`"\\ud800"`: valid JSON, invalid Unicode) in any text;
- invalid UTF-8 in query strings and path segments: decoded with U+FFFD replacement characters
  by the WSGI layer, so it is ordinary (unmatched) text -- shown over a real HTTP connection.
"""

from __future__ import annotations

import http.client
import json

import pytest

from app.api.validation import INT64_MAX, MAX_JSON_DEPTH
from tests import factories

HUGE = 2**64


@pytest.fixture
def world(ctx, client, auth):
    user = factories.user(role="admin")
    project = factories.project(user, name="Limits")
    task = factories.task(project, user, title="Limits task")
    headers = auth(user)
    session = client.post("/api/sessions/", json={"project_id": str(project.id)},
                          headers=headers).get_json()["data"]
    hook = client.post("/api/webhooks/", json={"url": "http://127.0.0.1:9/hook",
                                               "events": ["task.completed"]},
                       headers=headers).get_json()
    assert hook["data"], hook
    hook = hook["data"]
    execution = factories.execution(task, user, status="completed")
    command = factories.command(user, project, status="completed")
    return {"headers": headers, "project": project, "task": task,
            "session": session["session_id"], "webhook": hook["id"], "execution": execution,
            "command": command}


def _urls(w) -> list[tuple[str, str]]:
    """(url, parameter) for every list and output read that takes a number."""
    return [
        ("/api/tasks/", "page"), ("/api/projects/", "page"),
        (f"/api/projects/{w['project'].id}/tasks", "page"), ("/api/sessions/", "page"),
        (f"/api/sessions/{w['session']}/history", "page"), ("/api/webhooks/", "page"),
        (f"/api/webhooks/{w['webhook']}/deliveries", "page"),
        (f"/api/tasks/{w['task'].id}/executions", "page"),
        (f"/api/executions/{w['execution']}", "after_seq"),
        (f"/api/executions/{w['execution']}", "limit"),
        (f"/api/commands/{w['command']}/status", "after_seq"),
        ("/api/commands/history", "offset"), ("/api/commands/history", "limit"),
    ]


def test_numbers_beyond_64_bits_in_queries_are_422(client, world):
    for url, name in _urls(world):
        for value in (HUGE, -HUGE, 10**40):
            resp = client.get(url, query_string={name: str(value)}, headers=world["headers"])
            body = resp.get_json()
            assert resp.status_code == 422, (url, name, body)
            assert body["error"]["code"] == "VALIDATION_ERROR"
            assert body["error"]["details"]["field"] == name
        # the largest accepted value still answers (an empty page, no overflow)
        assert client.get(url, query_string={name: "1"}, headers=world["headers"]
                          ).status_code == 200, (url, name)


def test_the_document_states_the_bounds(client):
    doc = client.get("/openapi.json").get_json()
    params = {p["name"]: p["schema"] for p in doc["paths"]["/api/commands/history"]["get"]
              ["parameters"]}
    assert params["offset"]["maximum"] == INT64_MAX
    params = {p["name"]: p["schema"] for p in doc["paths"]["/api/sessions/"]["get"]
              ["parameters"]}
    assert params["page"]["maximum"] == 1_000_000


@pytest.mark.parametrize("value", [HUGE, -HUGE, "5", 5.5, True])
def test_body_integers_are_bounded_and_strict(client, world, value):
    resp = client.put(f"/api/tasks/{world['task'].id}", json={"priority": value},
                      headers=world["headers"])
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["error"]["details"]["field"] == "priority"


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("url", ["/api/auth/login", "/api/tasks/", "/api/projects/",
                                 "/api/commands/validate"])
def test_json_nested_a_thousand_deep_is_422(client, world, url):
    raw = '{"username": ' + _nested(1000) + ', "password": "x"}'
    resp = client.post(url, data=raw, content_type="application/json",
                       headers=world["headers"])
    body = resp.get_json()
    assert resp.status_code == 422, body
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert body["error"]["details"]["field"] == "body"
    assert f"deeper than {MAX_JSON_DEPTH}" in body["error"]["details"]["issue"]


def test_json_within_the_depth_limit_is_fine(client, world):
    metadata: dict = {}
    inner = metadata
    for _ in range(MAX_JSON_DEPTH - 3):  # body -> metadata -> ... stays within the limit
        inner["x"] = {}
        inner = inner["x"]
    resp = client.post("/api/tasks/", json={"project_id": str(world["project"].id),
                                            "title": "Deep", "metadata": metadata},
                       headers=world["headers"])
    assert resp.status_code == 201, resp.get_json()


@pytest.mark.parametrize("url, raw", [
    ("/api/auth/login", '{"username": "\\ud800", "password": "x"}'),
    ("/api/projects/", '{"name": "ok\\udc00"}'),
    ("/api/tasks/", '{"project_id": "%(project)s", "title": "t", "tags": ["\\ud83d"]}'),
    ("/api/tasks/", '{"project_id": "%(project)s", "title": "t", "metadata": {"\\ud800": 1}}'),
    ("/api/commands/validate", '{"command": "echo \\udfff"}'),
])
def test_lone_surrogates_are_422(client, world, url, raw):
    resp = client.post(url, data=raw % {"project": world["project"].id},
                       content_type="application/json", headers=world["headers"])
    body = resp.get_json()
    assert resp.status_code == 422, body
    assert body["error"]["code"] == "VALIDATION_INVALID_FORMAT"
    assert "lone surrogate" in body["error"]["details"]["issue"]


def test_a_surrogate_pair_is_a_character_like_any_other(client, world):
    raw = '{"project_id": "' + str(world["project"].id) + '", "title": "Ship it \\ud83d\\ude80"}'
    resp = client.post("/api/tasks/", data=raw, content_type="application/json",
                       headers=world["headers"])
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["data"]["title"] == "Ship it \U0001F680"


def test_invalid_utf8_bytes_in_a_body_are_422(client, world):
    resp = client.post("/api/projects/", data=b'{"name": "\xed\xa0\x80"}',
                       content_type="application/json", headers=world["headers"])
    assert resp.status_code == 422


def _raw_get(base_url: str, target: str, headers: dict[str, str]) -> tuple[int, dict]:
    """A GET with the target's bytes sent as they are (no client-side re-encoding)."""
    host, port = base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.putrequest("GET", target, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def test_invalid_utf8_in_query_and_path_is_plain_text(live_server, world):
    """%ED%A0%80 (a surrogate encoded as UTF-8) and a bare %FF decode to U+FFFD: the search
    finds nothing, an id made of them is unknown -- never a 500."""
    status, body = _raw_get(live_server, "/api/tasks/?search=%ED%A0%80%FF", world["headers"])
    assert status == 200, body
    assert body["data"]["total"] == 0
    status, body = _raw_get(live_server, "/api/projects/?search=%ED%A0%80", world["headers"])
    assert status == 200, body
    status, body = _raw_get(live_server, "/api/tasks/%ED%A0%80", world["headers"])
    assert (status, body["error"]["code"]) == (404, "TASK_NOT_FOUND")
    status, body = _raw_get(live_server, "/api/projects/%ED%A0%80/tasks?page=%ED%A0%80",
                            world["headers"])
    assert status == 422 and body["error"]["details"]["field"] == "page", body
