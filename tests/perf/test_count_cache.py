"""The task list's cached totals: served while nothing changed, never stale once a write is
committed (app.services.count_cache, app.services.versions), whichever way the write happens.

Every total here is compared with a COUNT run straight on the database (`truth`). Pages are
2 tasks long so that the total is not proven by a short page and comes from the count path.
"""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.extensions import db
from app.models.task import Task
from app.models.user import User
from app.services import count_cache, task_query, versions
from tests import factories

FILTERS = [
    {},
    {"status": "pending"},
    {"status": "completed,pending"},
    {"tags": "backend"},
    {"tags": "backend,security"},
    {"search": "auth* AND security"},
    {"priority": 5},
]


def truth(user_id: uuid.UUID, params: dict, project_id: uuid.UUID | None = None) -> int:
    """The total counted in SQL, without the cache."""
    user = db.session.get(User, user_id)
    filters = task_query.TaskFilters(project_id=project_id, **params)
    counted = task_query.task_query(user, filters, for_count=True)
    return db.session.scalar(counted.with_only_columns(sa.func.count()).order_by(None))


@pytest.fixture(autouse=True)
def _many_requests(app, monkeypatch):
    """These tests list a lot; the rate limit is not what they are about."""
    monkeypatch.setitem(app.config, "RATELIMIT_USER", "100000/minute")


@pytest.fixture
def counts(app):
    """How many COUNT statements the database ran (to see the cache working)."""
    seen: list[str] = []

    def listen(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT COUNT"):
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", listen)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", listen)


@pytest.fixture
def world(ctx, make_user):
    """A developer's project with 6 tasks, a second developer, an admin."""
    owner = make_user(role="developer")
    other = make_user(role="developer")
    admin = make_user(role="admin")
    project = factories.project(owner)
    tasks = []
    for i in range(6):
        tags = ["backend", "security"] if i % 2 else ["frontend"]
        title = "auth flow" if i < 3 else "billing page"
        tasks.append(factories.task(project, owner, title, tags=tags, priority=i * 2,
                                    description="needs a security review"))
    return {"owner": owner, "other": other, "admin": admin, "project": project, "tasks": tasks}


def listed_total(client, auth, user, **params) -> int:
    resp = client.get("/api/tasks/", headers=auth(user), query_string={"page_size": 2, **params})
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()["data"]
    assert len(data["items"]) == min(2, data["total"])
    return data["total"]


def check_all(client, auth, world, users=("owner", "admin")) -> None:
    for name in users:
        user = world[name]
        for params in FILTERS:
            assert listed_total(client, auth, user, **params) == truth(user.id, params), \
                (name, params)
            pid = world["project"].id
            if name == "owner" or name == "admin":
                got = listed_total(client, auth, user, project_id=str(pid), **params)
                assert got == truth(user.id, params, pid), (name, "project", params)


def test_a_total_is_counted_once_then_served_from_the_cache(client, auth, world, counts):
    assert listed_total(client, auth, world["owner"]) == 6
    assert len(counts) == 1
    assert listed_total(client, auth, world["owner"]) == 6
    assert listed_total(client, auth, world["owner"], sort="title", order="asc") == 6
    assert len(counts) == 1  # same filters, other order: the same total
    assert listed_total(client, auth, world["owner"], status="pending") == 6
    assert len(counts) == 2


def test_every_kind_of_write_moves_every_cached_total(client, auth, world):
    owner, tasks, project = world["owner"], world["tasks"], world["project"]
    headers = auth(owner)
    check_all(client, auth, world)

    def write(method: str, url: str, body=None, expect=200):
        resp = getattr(client, method)(url, json=body, headers=headers)
        assert resp.status_code == expect, resp.get_json()
        check_all(client, auth, world)

    write("post", "/api/tasks/", {"project_id": str(project.id), "title": "auth login",
                                   "tags": ["security"]}, 201)
    write("put", f"/api/tasks/{tasks[0].id}", {"status": "completed"})
    write("put", f"/api/tasks/{tasks[1].id}", {"tags": ["backend"]})
    write("put", f"/api/tasks/{tasks[2].id}", {"title": "plain title", "priority": 10})
    write("delete", f"/api/tasks/{tasks[3].id}")
    write("post", "/api/tasks/bulk", {"operation": "update_status", "data": {"status": "cancelled"},
                                      "task_ids": [str(tasks[4].id)]})
    write("post", "/api/tasks/bulk", {"operation": "add_tags", "data": {"tags": ["backend"]},
                                      "task_ids": [str(tasks[0].id), str(tasks[2].id)]})
    write("post", "/api/tasks/bulk", {"operation": "remove_tags",
                                      "data": {"tags": ["security"]},
                                      "task_ids": [str(tasks[5].id)]})
    write("post", "/api/tasks/bulk", {"operation": "delete", "data": {},
                                      "task_ids": [str(tasks[5].id)]})
    write("post", f"/api/projects/{project.id}/clone", {"name": "copy", "include_tasks": True},
          201)


def test_membership_and_project_deletion_move_a_members_totals(client, auth, world):
    owner, other, project = world["owner"], world["other"], world["project"]
    assert listed_total(client, auth, other) == 0 == truth(other.id, {})
    own = factories.project(other)
    for i in range(3):
        factories.task(own, other, f"own {i}")
    assert listed_total(client, auth, other) == 3
    resp = client.put(f"/api/projects/{project.id}", headers=auth(owner),
                      json={"settings": {"members": [str(other.id)]}})
    assert resp.status_code == 200, resp.get_json()
    assert listed_total(client, auth, other) == 9 == truth(other.id, {})
    assert listed_total(client, auth, other, tags="backend") == truth(other.id,
                                                                      {"tags": "backend"})
    resp = client.put(f"/api/projects/{project.id}", headers=auth(owner),
                      json={"settings": {"members": []}})
    assert resp.status_code == 200
    assert listed_total(client, auth, other) == 3
    resp = client.put(f"/api/projects/{project.id}", headers=auth(owner),
                      json={"settings": {"members": [str(other.id)]}})
    assert listed_total(client, auth, other) == 9
    assert listed_total(client, auth, world["admin"]) == 9
    resp = client.delete(f"/api/projects/{project.id}", headers=auth(owner))
    assert resp.status_code == 200, resp.get_json()
    assert listed_total(client, auth, other) == 3
    assert listed_total(client, auth, world["admin"]) == 3 == truth(world["admin"].id, {})


def test_a_write_in_flight_is_never_hidden_by_the_cache(client, auth, world, counts,
                                                        monkeypatch):
    """Between a writer's commit and its version bump, readers must not use the cache: the
    writer's mark, placed before the commit, is what keeps them off it."""
    owner = world["owner"]
    assert listed_total(client, auth, owner, status="pending") == 6
    before = len(counts)
    with Session(db.engine) as writer:
        writer.get(Task, world["tasks"][0].id).status = "completed"
        writer.flush()  # marked now; not yet visible to anyone else
        assert listed_total(client, auth, owner, status="pending") == 6
        assert len(counts) == before + 1  # counted, not cached, while the write is in flight
        monkeypatch.setattr(versions, "queue_bumps", lambda pipe, state: None)  # bump lost
        writer.commit()
    monkeypatch.undo()
    # the version never moved, but the mark (never removed) keeps readers on SQL
    assert listed_total(client, auth, owner, status="pending") == 5


def test_a_total_counted_across_a_commit_is_not_stored(ctx, world):
    """A reader that counted before a write committed must not store its (stale) total."""
    scopes = [versions.project_scope(world["project"].id)]
    calls = []

    def stale_count() -> int:
        calls.append("stale")
        with Session(db.engine) as writer:
            writer.get(Task, world["tasks"][0].id).status = "completed"
            writer.commit()  # committed (and bumped) after our read began
        return 6

    assert count_cache.cached_count(scopes, "k", stale_count) == 6
    assert count_cache.cached_count(scopes, "k", lambda: calls.append("fresh") or 5) == 5
    assert calls == ["stale", "fresh"]
    assert count_cache.cached_count(scopes, "k", lambda: calls.append("again") or 0) == 5


def test_a_rolled_back_write_leaves_the_cache_usable(client, auth, world, counts):
    owner = world["owner"]
    listed_total(client, auth, owner)
    with Session(db.engine) as writer:
        writer.get(Task, world["tasks"][0].id).title = "changed"
        writer.flush()
        writer.rollback()
    before = len(counts)
    assert listed_total(client, auth, owner) == 6
    assert listed_total(client, auth, owner) == 6
    assert len(counts) <= before + 1


def test_without_redis_totals_are_counted_in_sql(ctx, world, app, monkeypatch):
    import redis

    dead = redis.Redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.2)
    monkeypatch.setitem(app.extensions, "redis", dead)
    monkeypatch.delitem(app.extensions, "count_cache_script", raising=False)
    user = db.session.get(User, world["owner"].id)
    page = task_query.list_tasks(user, task_query.TaskFilters(tags="backend"), 1, 2)
    assert page.total == 3 == truth(user.id, {"tags": "backend"})
    assert [len(item.tags) for item in page.items] == [2, 2]
