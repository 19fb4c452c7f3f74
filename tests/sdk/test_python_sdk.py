"""The Python SDK against the real app (gunicorn): the reference's calls, typed errors carrying
the envelope's code, and pagination iterators."""

from __future__ import annotations

import httpx
import pytest
from claude_cli_sdk import (
    ClaudeCliClient,
    ConflictError,
    NotFoundError,
    Page,
    PermissionDeniedError,
    ValidationError,
)
from claude_cli_sdk.models import TaskData, TaskSummary


@pytest.fixture
def server(stack):
    return stack


def test_the_reference_calls_work_as_shown(server, make_user):
    user = make_user(role="developer")
    client = ClaudeCliClient(base_url=f"{server.url}/api")
    login = client.login(user.username, user.password)
    assert login.user.username == user.username and client.access_token == login.access_token

    project = client.projects.create(name="SDK project", description="made by the SDK")
    task = client.tasks.create(title="Implement authentication", project_id=project.id,
                               priority=1, tags=["security", "backend"],
                               metadata={"component": "backend"})
    assert isinstance(task, TaskData)
    assert (task.title, task.status, task.priority) == ("Implement authentication", "pending", 1)
    assert task.metadata.component == "backend" and task["tags"] == ["security", "backend"]
    other = client.tasks.create(title="Write docs", project_id=project.id, priority=0)
    client.tasks.update(other.id, status="cancelled")

    tasks = client.tasks.list(status=["pending", "running"], project_id=project.id, page=1,
                              page_size=50)
    assert isinstance(tasks, Page)
    assert [t.id for t in tasks.items] == [task.id] and tasks.total == 1
    assert isinstance(tasks.items[0], TaskSummary)
    assert [t.id for t in client.tasks.list(tags="security,backend")] == [task.id]
    assert [t.title for t in client.tasks.list(search="title:docs")] == ["Write docs"]

    updated = client.tasks.update(task.id, progress_percentage=40, assigned_to=str(user.id))
    assert (updated.progress_percentage, updated.assigned_to) == (40, str(user.id))
    assert client.tasks.update(task.id, assigned_to=None).assigned_to is None  # None: cleared
    history = client.tasks.history(task.id)
    assert {h.action for h in history.history} >= {"created"}

    detail = client.projects.get(project.id)
    assert detail.statistics.total_tasks == 2
    assert [t.id for t in client.projects.tasks(project.id, status="cancelled")] == [other.id]
    assert client.users.profile().username == user.username
    assert client.health.check().status == "healthy"
    assert client.commands.validate("rm -rf /").safe is False

    assert client.tasks.delete(other.id).message
    with pytest.raises(NotFoundError) as missing:
        client.tasks.get(other.id)
    assert (missing.value.status_code, missing.value.code) == (404, "TASK_NOT_FOUND")
    assert missing.value.request_id


def test_errors_are_typed_and_carry_the_envelope_code(server, make_user):
    owner, stranger = make_user(role="developer"), make_user(role="developer")
    client = ClaudeCliClient(f"{server.url}/api", username=owner.username,
                             password=owner.password)  # logs in on first use
    project = client.projects.create(name="Errors")

    with pytest.raises(NotFoundError) as exc:
        client.projects.get("00000000-0000-4000-8000-000000000000")
    assert exc.value.code == "PROJECT_NOT_FOUND"

    with pytest.raises(ValidationError) as exc:
        client.tasks.create(title="", project_id=project.id)
    assert (exc.value.status_code, exc.value.field) == (422, "title")
    assert exc.value.code.startswith("VALIDATION_")
    with pytest.raises(ValidationError) as exc:
        client.tasks.list(page_size=101)
    assert exc.value.field == "page_size"

    blocker = client.tasks.create(title="first", project_id=project.id, executor="shell",
                                  command="true")
    blocked = client.tasks.create(title="second", project_id=project.id, executor="shell",
                                  command="true")
    client.tasks.add_dependency(blocked.id, blocker.id)
    with pytest.raises(ConflictError) as exc:
        client.tasks.execute(blocked.id)
    assert (exc.value.status_code, exc.value.code) == (409, "TASK_DEPENDENCY_NOT_MET")
    with pytest.raises(ConflictError) as exc:
        client.tasks.add_dependency(blocker.id, blocked.id)
    assert exc.value.code == "TASK_DEPENDENCY_CYCLE"
    with pytest.raises(ConflictError) as exc:  # a project without settings.git
        client.tasks.diff(blocker.id)
    assert exc.value.code == "GIT_NOT_ENABLED"

    slow = client.tasks.create(title="slow", project_id=project.id, executor="shell",
                               command="sleep 30")
    assert client.tasks.execute(slow.id, priority="high").status == "queued"  # no worker runs
    with pytest.raises(ConflictError) as exc:
        client.tasks.execute(slow.id)
    assert exc.value.code == "TASK_ALREADY_RUNNING"
    assert client.tasks.cancel(slow.id, reason="done testing").task_id == slow.id

    outsider = ClaudeCliClient(f"{server.url}/api", username=stranger.username,
                               password=stranger.password)
    with pytest.raises(PermissionDeniedError) as exc:
        outsider.projects.get(project.id)
    assert (exc.value.status_code, exc.value.code) == (403, "PROJECT_ACCESS_DENIED")


def test_iterators_walk_every_page_one_request_at_a_time(server, make_user):
    user = make_user(role="developer")
    sent: list[httpx.Request] = []
    http = httpx.Client(event_hooks={"request": [sent.append]})
    client = ClaudeCliClient(f"{server.url}/api", username=user.username,
                             password=user.password, http_client=http)
    project = client.projects.create(name="Pages")
    titles = [f"task {i:02d}" for i in range(7)]
    for title in titles:
        client.tasks.create(title=title, project_id=project.id)

    first = client.tasks.list(project_id=project.id, page_size=3, sort="title", order="asc")
    assert (first.total, first.pages, first.has_next) == (7, 3, True)
    sent.clear()
    walked = client.tasks.iter(project_id=project.id, page_size=3, sort="title", order="asc")
    assert next(walked).title == "task 00"
    assert len(sent) == 1  # pages are fetched only when reached
    rest = [t.title for t in walked]
    assert ["task 00", *rest] == titles
    pages = [r.url.params["page"] for r in sent if r.url.path == "/api/tasks/"]
    assert pages == ["1", "2", "3"]
    assert [t.title for t in client.projects.iter_tasks(project.id, page_size=2,
                                                        sort="title", order="asc")] == titles
    assert [p.id for p in client.projects.iter(page_size=1)] == [project.id]
