"""Access between users (CONTRACT §2): owners, members, admins, viewers, strangers."""

from __future__ import annotations

import pytest

from tests import factories


@pytest.fixture
def two(ctx, api_for):
    alice, bob = factories.user(username="alice"), factories.user(username="bob")
    project = factories.project(alice, name="Alice's")
    task = factories.task(project, alice, title="secret")
    return {"alice": alice, "bob": bob, "project": project, "task": task,
            "a": api_for(alice), "b": api_for(bob)}


def test_a_stranger_sees_nothing_and_is_denied_everything(two):
    b, pid, tid = two["b"], two["project"].id, two["task"].id
    assert b.ok("get", "/api/projects/")["total"] == 0
    assert b.ok("get", "/api/tasks/")["total"] == 0
    assert b.ok("get", "/api/tasks/", search="secret")["total"] == 0
    denied = [
        ("get", f"/api/projects/{pid}", None), ("put", f"/api/projects/{pid}", {"name": "x"}),
        ("delete", f"/api/projects/{pid}", None), ("get", f"/api/projects/{pid}/tasks", None),
        ("post", f"/api/projects/{pid}/clone", {}),
        ("get", f"/api/projects/{pid}/analytics", None),
        ("post", "/api/tasks/", {"project_id": str(pid), "title": "x"}),
        ("get", f"/api/tasks/{tid}", None), ("put", f"/api/tasks/{tid}", {"title": "x"}),
        ("delete", f"/api/tasks/{tid}", None), ("get", f"/api/tasks/{tid}/history", None),
    ]
    for method, url, body in denied:
        status, code, _ = b.error(method, url, body)
        assert (status, code) == (403, "PROJECT_ACCESS_DENIED"), (method, url)


def test_members_share_the_project(two):
    a, b, pid = two["a"], two["b"], two["project"].id
    a.ok("put", f"/api/projects/{pid}", {"settings": {"members": [str(two["bob"].id)]}})
    assert [p["id"] for p in b.ok("get", "/api/projects/")["items"]] == [str(pid)]
    task = b.ok("post", "/api/tasks/", {"project_id": str(pid), "title": "by bob"}, expect=201)
    b.ok("put", f"/api/tasks/{two['task'].id}", {"title": "edited by bob"})
    assert a.ok("get", f"/api/tasks/{task['id']}")["created_by"] == str(two["bob"].id)
    # A member works on tasks but does not change or delete the project itself.
    assert b.error("put", f"/api/projects/{pid}", {"name": "mine"})[:2] == (
        403, "PROJECT_ACCESS_DENIED")
    assert b.error("delete", f"/api/projects/{pid}")[:2] == (403, "PROJECT_ACCESS_DENIED")
    # Removing the member removes the access.
    a.ok("put", f"/api/projects/{pid}", {"settings": {"members": []}})
    assert b.error("get", f"/api/tasks/{task['id']}")[:2] == (403, "PROJECT_ACCESS_DENIED")
    assert b.ok("get", "/api/tasks/")["total"] == 0


def test_admins_see_everything(two, api_for, admin):
    root = api_for(admin)
    assert root.ok("get", "/api/projects/")["total"] == 1
    assert root.ok("get", f"/api/tasks/{two['task'].id}")["title"] == "secret"
    root.ok("put", f"/api/projects/{two['project'].id}", {"description": "seen by admin"})


def test_a_viewer_member_reads_but_never_writes(two, api_for, viewer):
    a, pid = two["a"], two["project"].id
    a.ok("put", f"/api/projects/{pid}", {"settings": {"members": [str(viewer.id)]}})
    v = api_for(viewer)
    assert v.ok("get", f"/api/tasks/{two['task'].id}")["title"] == "secret"
    assert v.ok("get", f"/api/projects/{pid}/analytics")["project_id"] == str(pid)
    for method, url, body in [
        ("post", "/api/projects/", {"name": "x"}),
        ("post", "/api/tasks/", {"project_id": str(pid), "title": "x"}),
        ("put", f"/api/tasks/{two['task'].id}", {"title": "x"}),
        ("delete", f"/api/tasks/{two['task'].id}", None),
    ]:
        assert v.error(method, url, body)[:2] == (403, "AUTH_INSUFFICIENT_PERMISSIONS")


def test_anonymous_is_401(client, two):
    resp = client.get("/api/tasks/")
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "AUTH_TOKEN_MISSING"
    resp = client.post("/api/projects/", json={"name": "x"})
    assert resp.status_code == 401
