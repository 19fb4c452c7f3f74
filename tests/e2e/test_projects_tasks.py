"""Projects, board, analytics and tasks in a real Chromium against a live server and, where a
task runs, a real worker process."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models.execution import TaskExecution
from app.models.task import Task
from tests import factories
from tests.live import wait_for

pytestmark = pytest.mark.browser
UUID = r"[0-9a-f-]{36}"


@pytest.fixture
def shared_project(app, developer, viewer):
    """A developer's project that a viewer may read, with one shell task."""
    with app.app_context():
        project = factories.project(developer, name="Shared",
                                    settings={"members": [str(viewer.id)]})
        owner = db.session.get(type(developer), developer.id)
        task = factories.task(project, owner, title="Echo things", executor="shell",
                              command="echo hello", tags=["demo"])
    return project, task


def _execution(app, execution_id: str) -> TaskExecution | None:
    with app.app_context():
        found = db.session.get(TaskExecution, uuid.UUID(execution_id))
        if found is not None:
            db.session.expunge(found)
        return found


def _listening(app, user) -> bool:
    """This (in-process) live server's hub listens to Redis and has the user's page socket."""
    from app.realtime.hub import get_hub

    hub = get_hub(app)
    return hub.connected.is_set() and any(
        getattr(s, "user_id", None) == str(user.id) and not s.closed for s in hub.subscribers())


def _accept_dialogs(page) -> None:
    page.on("dialog", lambda dialog: dialog.accept())


def test_create_a_project_and_a_shell_task_through_the_forms(app, page_for, developer):
    page = page_for(developer, "/projects")
    page.click("#new-project")
    page.wait_for_url("**/projects/new")
    page.fill("#project-name", "Website")
    page.fill("#project-description", "The public site")
    page.fill("#project-max-concurrent", "2")
    page.click("#project-save")
    page.wait_for_url(re.compile(rf"/projects/{UUID}$"))
    expect(page.locator("#project-title")).to_contain_text("Website")

    page.click("#new-task")
    page.wait_for_url(re.compile(r"/tasks/new$"))
    page.fill("#task-title", "Say hello")
    page.select_option("#task-executor", "shell")
    page.fill("#task-command", "echo hello")
    page.fill("#task-tags", "demo, greeting")
    page.fill("#task-priority", "4")
    page.click("#task-save")
    page.wait_for_url(re.compile(rf"/tasks/{UUID}$"))
    expect(page.locator("#task-title")).to_have_text("Say hello")
    task_id = page.url.rsplit("/", 1)[1]
    expect(page.locator(f"#task-{task_id}-status")).to_have_text("pending")

    page.click("nav.crumbs >> text=Board")
    page.wait_for_url("**/board")
    card = page.locator(f"#board-col-pending-cards #task-{task_id}-card")
    expect(card).to_contain_text("Say hello")
    expect(page.locator("#board-col-pending-count")).to_have_text("1")
    with app.app_context():
        task = db.session.get(Task, uuid.UUID(task_id))
        assert (task.executor, task.command, task.tags) == ("shell", "echo hello",
                                                            ["demo", "greeting"])


def test_validation_errors_are_shown_inline(page_for, developer, shared_project):
    page = page_for(developer, "/projects/new")
    page.evaluate("window.samePage = true")
    page.fill("#project-max-tasks", "0")
    page.click("#project-save")
    expect(page.locator("#project-name-error")).to_be_visible()
    assert page.get_attribute("#project-name", "aria-invalid") == "true"
    page.fill("#project-name", "Fine")
    page.click("#project-save")
    expect(page.locator("#project-max-tasks-error")).to_contain_text("between 1 and")
    assert page.evaluate("window.samePage") is True          # swapped in place, no reload

    project, _task = shared_project
    page.goto(f"/projects/{project.id}/tasks/new")
    page.fill("#task-title", "No command")
    page.select_option("#task-executor", "shell")
    page.click("#task-save")
    expect(page.locator("#task-command-error")).to_contain_text("required when executor is shell")
    page.fill("#task-command", "echo ok")
    page.fill("#task-estimate", "soon")
    page.click("#task-save")
    expect(page.locator("#task-estimate-error")).to_be_visible()
    expect(page.locator("#task-command-error")).to_have_count(0)


def test_viewer_sees_no_controls_and_is_refused_when_posting_anyway(app, page_for, viewer,
                                                                     shared_project):
    project, task = shared_project
    page = page_for(viewer, f"/tasks/{task.id}")
    expect(page.locator("#task-title")).to_have_text("Echo things")
    for selector in (f"#task-{task.id}-execute", "#task-edit", "#task-delete", "#dep-search"):
        expect(page.locator(selector)).to_have_count(0)
    page.goto(f"/projects/{project.id}")
    expect(page.locator("#new-task")).to_have_count(0)
    expect(page.locator("#project-edit")).to_have_count(0)
    statuses = page.evaluate("""async (urls) => {
        const token = decodeURIComponent(document.cookie.match(/csrf_access_token=([^;]+)/)[1]);
        const out = [];
        for (const url of urls) {
            const r = await fetch(url, {method: "POST", headers: {"X-CSRF-TOKEN": token},
                                        body: new URLSearchParams({priority: "high"})});
            out.push(r.status);
        }
        return out;
    }""", [f"/tasks/{task.id}/execute", f"/tasks/{task.id}/delete",
           f"/projects/{project.id}/tasks"])
    assert statuses == [403, 403, 403]
    with app.app_context():
        assert db.session.query(TaskExecution).count() == 0
        assert db.session.get(Task, task.id).deleted_at is None


def test_execute_from_the_task_page_lands_on_the_execution(app, page_for, developer,
                                                           shared_project, start_worker):
    start_worker()
    _project, task = shared_project
    page = page_for(developer, f"/tasks/{task.id}")
    page.select_option(f"#task-{task.id}-queue", "high")
    page.click(f"#task-{task.id}-execute")
    page.wait_for_url(re.compile(rf"/executions/{UUID}$"))
    execution_id = page.url.rsplit("/", 1)[1]
    run = wait_for(lambda: (r := _execution(app, execution_id)) and r.status == "completed"
                   and r, 20, 0.1, "the execution to complete")
    assert (run.task_id, run.queue, run.exit_code) == (task.id, "high", 0)
    page.goto(f"/tasks/{task.id}")
    expect(page.locator(f"#task-{task.id}-status")).to_have_text("completed")
    expect(page.locator(f'a[href="/executions/{execution_id}"]')).to_be_visible()


def test_cancel_a_running_task_changes_its_state_without_reload(app, page_for, developer,
                                                                 start_worker):
    with app.app_context():
        project = factories.project(developer)
        owner = db.session.get(type(developer), developer.id)
        task = factories.task(project, owner, title="Long", executor="shell",
                              command="sleep 30")
    start_worker()
    page = page_for(developer, f"/tasks/{task.id}")
    _accept_dialogs(page)
    page.click(f"#task-{task.id}-execute")
    page.wait_for_url(re.compile(rf"/executions/{UUID}$"))
    execution_id = page.url.rsplit("/", 1)[1]
    wait_for(lambda: (r := _execution(app, execution_id)) and r.status == "running", 20, 0.1,
             "the run to start")
    page.goto(f"/tasks/{task.id}")
    page.evaluate("window.samePage = true")
    expect(page.locator(f"#task-{task.id}-status")).to_have_text("running")
    page.click(f"#task-{task.id}-cancel")
    expect(page.locator(f"#task-{task.id}-status")).to_have_text("cancelled", timeout=20000)
    expect(page.locator(f"#task-{task.id}-retry")).to_be_visible()
    assert page.evaluate("window.samePage") is True
    assert _execution(app, execution_id).status == "cancelled"


def test_board_card_moves_live_when_its_task_changes_status(app, page_for, developer,
                                                            shared_project):
    project, task = shared_project
    page = page_for(developer, f"/projects/{project.id}/board")
    page.evaluate("window.samePage = true")
    expect(page.locator(f"#board-col-pending-cards #task-{task.id}-card")).to_be_visible()
    expect(page.locator("#board-live[data-live='open']")).to_have_count(1)
    wait_for(lambda: _listening(app, developer), 10, 0.05, "the page socket to subscribe")
    with app.app_context():
        from app.services.tasks import update_task

        update_task(task.id, db.session.get(type(developer), developer.id),
                    {"status": "completed"})
    expect(page.locator(f"#board-col-completed-cards #task-{task.id}-card")).to_be_visible(
        timeout=10000)
    expect(page.locator(f"#board-col-pending-cards #task-{task.id}-card")).to_have_count(0)
    expect(page.locator("#board-col-completed-count")).to_have_text("1")
    expect(page.locator("#board-col-pending-count")).to_have_text("0")
    assert page.evaluate("window.samePage") is True


def test_task_page_status_and_buttons_follow_changes_live(app, page_for, developer,
                                                          shared_project):
    _project, task = shared_project
    page = page_for(developer, f"/tasks/{task.id}")
    page.evaluate("window.samePage = true")
    expect(page.locator(f"#task-{task.id}-execute")).to_be_visible()
    wait_for(lambda: _listening(app, developer), 10, 0.05, "the page socket to subscribe")
    with app.app_context():
        from app.services.tasks import update_task

        update_task(task.id, db.session.get(type(developer), developer.id),
                    {"status": "cancelled"})
    expect(page.locator(f"#task-{task.id}-status")).to_have_text("cancelled", timeout=10000)
    expect(page.locator(f"#task-{task.id}-retry")).to_be_visible()
    assert page.evaluate("window.samePage") is True


def test_board_filters_and_phone_width(app, page_for, developer, shared_project):
    project, task = shared_project
    with app.app_context():
        owner = db.session.get(type(developer), developer.id)
        other = factories.task(project, owner, title="Unrelated", tags=["misc"])
    page = page_for(developer, f"/projects/{project.id}/board",
                    viewport={"width": 390, "height": 800})
    page.evaluate("window.samePage = true")
    expect(page.locator(f"#task-{other.id}-card")).to_be_visible()
    page.select_option("#board-tag", "demo")
    expect(page.locator(f"#task-{other.id}-card")).to_have_count(0)
    expect(page.locator(f"#task-{task.id}-card")).to_be_visible()
    assert "tag=demo" in page.url and page.evaluate("window.samePage") is True
    page.fill("#board-search", '"unclosed')
    expect(page.locator("#board-filter-error")).to_contain_text("unclosed quote")
    columns = page.locator(".board-columns")
    assert columns.evaluate("el => el.scrollWidth > el.clientWidth")   # scrolls sideways
    page.goto(f"/tasks/{task.id}")
    button = page.locator(f"#task-{task.id}-execute")
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    page.keyboard.press("Tab")                                   # keyboard reachable
    button.focus()
    assert page.evaluate("document.activeElement.id") == f"task-{task.id}-execute"


def test_analytics_period_switch_redraws_without_reload(app, page_for, developer):
    with app.app_context():
        project = factories.project(developer)
        owner = db.session.get(type(developer), developer.id)
        factories.task(project, owner, status="completed", actual_duration=90)
    page = page_for(developer, f"/projects/{project.id}/analytics")     # a full page load
    expect(page.locator("#analytics[data-charts-ready='1']")).to_have_count(1)
    page.click("nav.tabs >> text=Overview")
    page.wait_for_url(re.compile(rf"/projects/{UUID}$"))
    page.click("nav.tabs >> text=Analytics")                   # a boosted navigation
    page.wait_for_url("**/analytics")
    expect(page.locator("#analytics[data-charts-ready='1']")).to_have_count(1)
    page.evaluate("window.samePage = true")
    assert page.evaluate("!!window.Chart && !!document.querySelector('#chart-trend').chart")
    page.click("#period-7d")
    expect(page.locator("#analytics[data-period='7d'][data-charts-ready='1']")).to_have_count(1)
    assert "period=7d" in page.url and page.evaluate("window.samePage") is True
    labels = page.evaluate("document.querySelector('#chart-trend').chart.data.labels.length")
    assert labels == 7
    expect(page.locator("#analytics-completed")).to_have_text("1")
