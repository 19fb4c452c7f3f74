"""Input that used to reach the database as an error: NUL bytes, huge numbers, odd ids.
Every one must be a clear 4xx envelope on SQLite and PostgreSQL alike, never a 500."""

from __future__ import annotations

import pytest

from tests import factories


@pytest.fixture
def env(ctx, api_for, developer):
    project = factories.project(developer)
    task = factories.task(project, developer)
    return {"api": api_for(developer), "project": str(project.id), "task": str(task.id)}


@pytest.mark.parametrize("fields", [
    {"title": "nul\x00title"},
    {"description": "a\x00b"},
    {"command": "ls\x00"},
    {"metadata": {"k": "v\x00"}},
    {"priority": 10**30},
    {"estimated_duration": "99999999:00:00"},
])
def test_bad_task_bodies(env, fields):
    status, code, _ = env["api"].error("post", "/api/tasks/", {"project_id": env["project"],
                                                               "title": "ok", **fields})
    assert status == 422 and code.startswith("VALIDATION_")
    status, code, _ = env["api"].error("put", f"/api/tasks/{env['task']}", fields)
    assert status == 422 and code.startswith("VALIDATION_")


@pytest.mark.parametrize("params", [
    {"search": "a\x00b"}, {"search": "tags:x\x00"}, {"tags": "x\x00"}, {"priority": 10**30},
    {"page": 10**30}, {"page": 1_000_001}, {"created_after": "99999-01-01"},
])
def test_bad_list_parameters(env, params):
    status, code, _ = env["api"].error("get", "/api/tasks/", **params)
    assert status == 422 and code.startswith("VALIDATION_")


def test_bad_project_input(env):
    api = env["api"]
    assert api.error("get", "/api/projects/", search="x\x00")[0] == 422
    assert api.error("get", "/api/projects/", page=10**30)[0] == 422
    assert api.error("post", "/api/projects/", {"name": "a\x00"})[0] == 422
    assert api.error("post", "/api/projects/", {"name": "a",
                                                "settings": {"x": "\x00"}})[0] == 422
    assert api.error("post", "/api/projects/", {"name": "a", "resource_limits": {
        "max_tasks": 10**30}})[0] == 422


def test_not_json_and_wrong_types(env, client, auth, developer):
    resp = client.post("/api/tasks/", data="{not json", headers={
        **auth(developer), "Content-Type": "application/json"})
    assert resp.status_code in (400, 422) and resp.get_json()["error"]["code"]
    api = env["api"]
    assert api.error("post", "/api/tasks/", ["a list"])[0] == 422
    assert api.error("post", "/api/tasks/", {"project_id": env["project"], "title": 5})[0] == 422
    assert api.error("post", "/api/tasks/bulk", {"operation": "delete",
                                                 "task_ids": "not-a-list"})[0] == 422


def test_openapi_document_lists_the_routes(client):
    doc = client.get("/openapi.json").get_json()
    paths = doc["paths"]
    for path in ("/api/tasks/", "/api/tasks/bulk", "/api/tasks/{task_id}",
                 "/api/tasks/{task_id}/history", "/api/tasks/{task_id}/dependencies",
                 "/api/tasks/{task_id}/dependencies/{dependency_id}", "/api/projects/",
                 "/api/projects/{project_id}", "/api/projects/{project_id}/tasks",
                 "/api/projects/{project_id}/clone", "/api/projects/{project_id}/analytics"):
        assert path in paths, path
    assert set(paths["/api/tasks/{task_id}"]) >= {"get", "put", "delete"}
