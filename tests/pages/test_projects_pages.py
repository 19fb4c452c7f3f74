"""Project pages through the test client: list, forms, detail actions, board and analytics.

Each test checks what a user would see (ids of the elements the page shows, messages) and what
was stored, through the same services the API uses.
"""

from __future__ import annotations

import json
import re
import uuid

from app.extensions import db
from app.models.audit import AuditLog
from app.models.project import Project
from app.models.task import Task
from tests import factories
from tests.pages import login_client

page_client = login_client.page_client  # the fixture, shared by the 6A page tests


def _id_from_redirect(resp) -> uuid.UUID:
    assert resp.status_code == 204, resp.data[:500]
    return uuid.UUID(resp.headers["HX-Redirect"].rsplit("/", 1)[1])


def _project(app, project_id) -> Project | None:
    with app.app_context():
        project = db.session.get(Project, project_id)
        if project is not None:
            db.session.expunge(project)
        return project


# ---------------------------------------------------------------- list

def test_list_shows_only_visible_projects_with_search_status_and_pages(
        app, page_client, developer, make_user, project_of):
    other = make_user()
    for n in range(23):
        project_of(developer, name=f"Alpha {n:02d}")
    project_of(developer, name="Beta archive", status="archived")
    project_of(other, name="Alpha hidden")
    client = page_client(developer)

    page = client.get("/projects")
    assert page.status_code == 200 and b"<html" in page.data
    assert b'id="projects-list"' in page.data and b"24 projects" in page.data
    assert b"Alpha hidden" not in page.data
    assert b"Page 1 of 2" in page.data

    second = client.hx_get("/projects?page=2")
    assert b"<html" not in second.data and b'id="projects-list"' in second.data
    assert b"Page 2 of 2" in second.data

    found = client.hx_get("/projects?search=beta")
    assert b"Beta archive" in found.data and b"Alpha 01" not in found.data
    archived = client.hx_get("/projects?status=archived")
    assert b"1 project<" in archived.data and b"Beta archive" in archived.data
    assert b"No projects match" in client.hx_get("/projects?search=zzz").data


def test_viewer_sees_no_create_button_and_cannot_open_the_form(page_client, viewer):
    client = page_client(viewer)
    assert b'id="new-project"' not in client.get("/projects").data
    refused = client.get("/projects/new")
    assert refused.status_code == 403 and b"write" in refused.data


# ---------------------------------------------------------------- create / edit

def test_create_form_shows_errors_inline_and_writes_nothing(app, page_client, developer):
    client = page_client(developer)
    assert b'id="project-form"' in client.get("/projects/new").data

    empty = client.hx_post("/projects", {"name": "  ", "members_present": "1"})
    assert empty.status_code == 422
    assert b'id="project-name-error"' in empty.data and b"<html" not in empty.data
    assert b'aria-invalid="true"' in empty.data

    bad = client.hx_post("/projects", {"name": "Ok", "max_tasks": "0"})
    assert b'id="project-max-tasks-error"' in bad.data and b"between 1 and" in bad.data
    assert b'value="Ok"' in bad.data                     # typed values are kept
    bad_json = client.hx_post("/projects", {"name": "Ok", "settings_json": "{nope"})
    assert b'id="project-settings-error"' in bad_json.data and b"not valid JSON" in bad_json.data
    with app.app_context():
        assert db.session.query(Project).count() == 0


def test_create_stores_limits_members_and_settings(app, page_client, developer, make_user):
    member = make_user(full_name="Mia Member")
    client = page_client(developer)
    resp = client.hx_post("/projects", {
        "name": "Shop", "description": "An online shop", "max_tasks": "50",
        "max_concurrent_tasks": "2", "storage_limit": "2gb", "members_present": "1",
        "members": [str(member.id)], "settings_json": '{"notifications": false}'})
    project = _project(app, _id_from_redirect(resp))
    assert project.name == "Shop" and project.created_by == developer.id
    assert project.resource_limits["max_tasks"] == 50
    assert project.resource_limits["storage_limit"] == "2GB"
    assert project.settings == {"notifications": False, "members": [str(member.id)]}
    detail = client.get(f"/projects/{project.id}")
    assert b"Mia Member" in detail.data and b'id="stat-total_tasks"' in detail.data
    with app.app_context():
        assert db.session.query(AuditLog).filter_by(entity_id=project.id,
                                                    action="created").count() == 1


def test_edit_updates_fields_and_refuses_non_owners(app, page_client, developer, make_user,
                                                    project_of):
    member = make_user()
    project = project_of(developer, name="Old", settings={"members": [str(member.id)]})
    owner = page_client(developer)
    form = owner.get(f"/projects/{project.id}/edit")
    assert b'value="Old"' in form.data and b"checked" in form.data

    bad = owner.hx_post(f"/projects/{project.id}", {"name": "New", "max_concurrent_tasks": "x"})
    assert bad.status_code == 422 and b'id="project-max-concurrent-error"' in bad.data
    assert _project(app, project.id).name == "Old"

    ok = owner.hx_post(f"/projects/{project.id}", {
        "name": "New", "status": "completed", "max_concurrent_tasks": "3",
        "members_present": "1", "members": [str(member.id)]})
    assert _id_from_redirect(ok) == project.id
    saved = _project(app, project.id)
    assert (saved.name, saved.status) == ("New", "completed")
    assert saved.resource_limits["max_concurrent_tasks"] == 3

    other = page_client(member)                      # a member may see it, not change it
    assert other.get(f"/projects/{project.id}").status_code == 200
    assert other.get(f"/projects/{project.id}/edit").status_code == 403
    refused = other.hx_post(f"/projects/{project.id}", {"name": "Hijack"})
    assert refused.status_code == 403 and _project(app, project.id).name == "New"


# ---------------------------------------------------------------- detail actions

def test_owner_sees_actions_member_viewer_does_not(page_client, developer, make_user,
                                                   project_of):
    watcher = make_user(role="viewer")
    project = project_of(developer, settings={"members": [str(watcher.id)]})
    page = page_client(developer).get(f"/projects/{project.id}")
    for marker in (b'id="project-edit"', b'id="project-archive"', b'id="project-delete"',
                   b'id="project-clone"', b'id="new-task"'):
        assert marker in page.data
    seen = page_client(watcher).get(f"/projects/{project.id}")
    assert seen.status_code == 200
    for marker in (b'id="project-edit"', b'id="project-delete"', b'id="project-clone"',
                   b'id="new-task"'):
        assert marker not in seen.data


def test_archive_makes_the_project_read_only_and_unarchive_reverts(
        app, page_client, developer, project_of):
    project = project_of(developer)
    client = page_client(developer)
    _id_from_redirect(client.hx_post(f"/projects/{project.id}/archive"))
    assert _project(app, project.id).status == "archived"
    page = client.get(f"/projects/{project.id}")
    assert b"archived" in page.data and b'id="new-task"' not in page.data
    assert b'id="project-unarchive"' in page.data
    refused = client.hx_post(f"/projects/{project.id}/tasks", {"title": "T"})
    assert b"archived" in refused.data
    _id_from_redirect(client.hx_post(f"/projects/{project.id}/unarchive"))
    assert _project(app, project.id).status == "active"


def test_clone_copies_tasks_and_reports_errors_in_place(app, page_client, developer,
                                                        project_of, task_of):
    project = project_of(developer, name="Source")
    task_of(project, developer, title="Copied task", tags=["x"])
    client = page_client(developer)
    too_long = client.hx_post(f"/projects/{project.id}/clone", {"name": "n" * 201})
    assert b'id="clone-name-error"' in too_long.data
    resp = client.hx_post(f"/projects/{project.id}/clone", {
        "name": "Copy", "include_tasks": "1", "include_settings": "1"})
    clone_id = _id_from_redirect(resp)
    assert clone_id != project.id
    with app.app_context():
        titles = [t.title for t in db.session.query(Task).filter_by(project_id=clone_id)]
    assert titles == ["Copied task"]


def test_delete_needs_confirmation_then_hides_the_project(app, page_client, developer,
                                                          project_of):
    project = project_of(developer)
    client = page_client(developer)
    unconfirmed = client.hx_post(f"/projects/{project.id}/delete")
    assert b'id="project-actions-error"' in unconfirmed.data
    assert _project(app, project.id).deleted_at is None
    resp = client.hx_post(f"/projects/{project.id}/delete", {"confirm": "yes"})
    assert resp.status_code == 204 and resp.headers["HX-Redirect"] == "/projects"
    assert _project(app, project.id).deleted_at is not None
    assert client.get(f"/projects/{project.id}").status_code == 404


def test_strangers_are_refused_everywhere(page_client, developer, make_user, project_of):
    project = project_of(developer)
    stranger = page_client(make_user())
    for path in ("", "/board", "/analytics", "/edit"):
        assert stranger.get(f"/projects/{project.id}{path}").status_code == 403
    assert stranger.get(f"/projects/{uuid.uuid4()}").status_code == 404


def test_project_names_are_escaped(page_client, developer, project_of):
    project = project_of(developer, name="<script>alert(1)</script>")
    page = page_client(developer).get(f"/projects/{project.id}")
    assert b"<script>alert(1)" not in page.data
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in page.data


# ---------------------------------------------------------------- board

def _cards(html: bytes, status: str) -> list[str]:
    text = html.decode()
    start = text.index(f'id="board-col-{status}-cards"')
    end = text.index("</section>", start)
    return re.findall(r'id="task-([0-9a-f-]{36})-card"', text[start:end])


def test_board_has_a_column_per_status_with_counts_and_the_socket(
        page_client, developer, project_of, task_of):
    project = project_of(developer)
    done = task_of(project, developer, title="Done one", status="completed")
    waiting = task_of(project, developer, title="Waiting", priority=5)
    page = page_client(developer).get(f"/projects/{project.id}/board")
    assert page.status_code == 200
    for status in ("pending", "queued", "running", "completed", "failed", "cancelled"):
        assert f'id="board-col-{status}"'.encode() in page.data
        assert f'id="board-col-{status}-count"'.encode() in page.data
    assert _cards(page.data, "completed") == [str(done.id)]
    assert _cards(page.data, "pending") == [str(waiting.id)]
    assert re.search(rb'id="board-col-pending-count"[^>]*>1<', page.data)
    assert f'ws-connect="/ws/pages?topics=project:{project.id}"'.encode() in page.data
    assert f'id="task-{waiting.id}-status"'.encode() in page.data


def test_board_filters_by_tag_assignee_and_search(page_client, developer, make_user,
                                                  project_of, task_of):
    helper = make_user(full_name="Hal Helper")
    project = project_of(developer, settings={"members": [str(helper.id)]})
    api = task_of(project, developer, title="Build the API", tags=["backend"])
    ui = task_of(project, developer, title="Draw the screens", tags=["frontend"],
                 assigned_to=str(helper.id))
    client = page_client(developer)
    page = client.get(f"/projects/{project.id}/board")
    assert b'<option value="backend"' in page.data and b"Hal Helper" in page.data

    by_tag = client.hx_get(f"/projects/{project.id}/board?tag=backend")
    assert b"<html" not in by_tag.data and _cards(by_tag.data, "pending") == [str(api.id)]
    by_person = client.hx_get(f"/projects/{project.id}/board?assignee={helper.id}")
    assert _cards(by_person.data, "pending") == [str(ui.id)]
    by_search = client.hx_get(f"/projects/{project.id}/board?search=draw* OR tags:nothing")
    assert _cards(by_search.data, "pending") == [str(ui.id)]
    negated = client.hx_get(f"/projects/{project.id}/board?search=NOT title:draw")
    assert _cards(negated.data, "pending") == [str(api.id)]


def test_board_shows_a_malformed_search_where_it_was_typed(page_client, developer,
                                                           project_of, task_of):
    project = project_of(developer)
    task_of(project, developer)
    resp = page_client(developer).hx_get(f'/projects/{project.id}/board?search="unclosed')
    assert resp.status_code == 200
    assert b'id="board-filter-error"' in resp.data and b"position" in resp.data


def test_board_columns_page_with_show_more(app, page_client, developer, project_of):
    project = project_of(developer)
    with app.app_context():
        owner = db.session.get(type(developer), developer.id)
        for n in range(105):
            factories.task(project, owner, title=f"T{n:03d}")
    client = page_client(developer)
    page = client.get(f"/projects/{project.id}/board")
    assert len(_cards(page.data, "pending")) == 100
    assert re.search(rb'id="board-col-pending-count"[^>]*>105<', page.data)
    more_url = re.search(rb'hx-get="([^"]+/board/pending\?page=2[^"]*)"', page.data)
    assert more_url
    more = client.hx_get(more_url.group(1).decode().replace("&amp;", "&"))
    assert b'hx-swap-oob="beforeend:#board-col-pending-cards"' in more.data
    assert len(re.findall(rb'class="task-card"', more.data)) == 5
    assert b"Show more" not in more.data


# ---------------------------------------------------------------- analytics

def test_analytics_page_and_period_switch_carry_chart_data(page_client, developer,
                                                           project_of, task_of):
    project = project_of(developer)
    task_of(project, developer, title="Quick", status="completed", actual_duration=30)
    task_of(project, developer, title="Slow", status="completed", actual_duration=7200)
    task_of(project, developer, title="Open")
    client = page_client(developer)
    page = client.get(f"/projects/{project.id}/analytics")
    assert page.status_code == 200 and b'id="analytics"' in page.data
    assert b"js/charts.js" in page.data and b'data-period="30d"' in page.data
    charts = dict(re.findall(rb"id=\"chart-(\w+)\".*?data-chart='([^']*)'", page.data, re.S))
    trend = json.loads(charts[b"trend"])
    assert len(trend["labels"]) == 30
    assert sum(trend["series"][0]["data"]) == 3           # created
    durations = json.loads(charts[b"durations"])
    assert durations["series"][0]["data"][0] == 1         # < 1 min
    assert sum(durations["series"][0]["data"]) == 2
    switched = client.hx_get(f"/projects/{project.id}/analytics?period=7d")
    assert b"<html" not in switched.data and b'data-period="7d"' in switched.data
    week = dict(re.findall(rb"id=\"chart-(\w+)\".*?data-chart='([^']*)'", switched.data, re.S))
    assert len(json.loads(week[b"trend"])["labels"]) == 7
    assert b'id="analytics-team"' in switched.data and developer.username.encode() in \
        switched.data


def test_history_restore_gets_the_whole_page(page_client, developer, project_of):
    """htmx re-fetches a pushed URL it has no snapshot of with HX-Request and
    HX-History-Restore-Request, and puts the answer in <body>: it must be the page."""
    project = project_of(developer)
    client = page_client(developer)
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    for url in ("/projects?search=x", f"/projects/{project.id}/board?tag=a",
                f"/projects/{project.id}/analytics?period=7d"):
        assert b"<html" in client.get(url, headers=headers).data, url
        assert b"<html" not in client.hx_get(url).data, url
