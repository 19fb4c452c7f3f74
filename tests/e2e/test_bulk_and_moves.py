"""Bulk actions on the board, queue moves on /queues and a filtered board's live updates, in a
real Chromium against the live server (its pages socket included). No worker runs: queued tasks
stay queued."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models.execution import TaskExecution
from app.models.task import Task
from app.models.user import User
from app.services import executions, queues
from tests import factories
from tests.live import wait_for

pytestmark = pytest.mark.browser
WAIT = 15000  # ms: the machine may be busy; each wait still ends as soon as it holds
PHONE = {"width": 390, "height": 844}


def _listening(app, user) -> bool:
    """This live server's hub listens to Redis and has the user's page socket."""
    from app.realtime.hub import get_hub

    hub = get_hub(app)
    return hub.connected.is_set() and any(
        getattr(s, "user_id", None) == str(user.id) and not s.closed for s in hub.subscribers())


def _task(app, task_id) -> Task:
    with app.app_context():
        task = db.session.get(Task, task_id)
        db.session.expunge(task)
        return task


def test_select_two_cards_and_complete_them_with_one_failure_reported(app, page_for,
                                                                      developer):
    """On a phone-width screen: select mode, one box ticked by keyboard, one by tapping; one
    task completes (its card moves live), the failed one is reported with its title and stays
    selected."""
    with app.app_context():
        owner = db.session.get(User, developer.id)
        project = factories.project(owner, name="Bulk board")
        todo = factories.task(project, owner, title="Write docs")
        broken = factories.task(project, owner, title="Broken build", status="failed")
        other = factories.task(project, owner, title="Left alone")
    page = page_for(developer, f"/projects/{project.id}/board", viewport=PHONE)
    page.evaluate("window.samePage = true")
    expect(page.locator("#board-live")).to_have_attribute("data-live", "open", timeout=WAIT)
    wait_for(lambda: _listening(app, developer), 10, 0.05, "the page socket to subscribe")

    expect(page.locator(f"#task-{todo.id}-select")).to_be_hidden()
    page.click("#bulk-toggle")
    expect(page.locator("#bulk-toggle")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#bulk-form")).to_be_visible()
    page.check(f"#task-{todo.id}-select")
    box = page.locator(f"#task-{broken.id}-select")
    box.focus()
    page.keyboard.press("Space")
    expect(box).to_be_checked()
    expect(page.locator("#bulk-count")).to_have_text("2 selected")

    page.select_option("#bulk-status", "completed")
    page.click("#bulk-set-status")
    expect(page.locator("#bulk-summary")).to_have_text(
        "Set status (completed): 1 of 2 tasks done, 1 failed.", timeout=WAIT)
    failure = page.locator(f'#bulk-failures li[data-task-id="{broken.id}"]')
    expect(failure).to_have_text("Broken build: A failed task cannot become completed; "
                                 "by hand it may become: cancelled, pending")
    expect(page.locator(f"#board-col-completed-cards #task-{todo.id}-card")).to_be_visible(
        timeout=WAIT)
    expect(page.locator(f"#board-col-pending-cards #task-{todo.id}-card")).to_have_count(0)
    expect(page.locator("#board-col-completed-count")).to_have_text("1", timeout=WAIT)
    expect(page.locator(f"#task-{broken.id}-select")).to_be_checked()      # still selected
    expect(page.locator(f"#task-{todo.id}-select")).not_to_be_checked()    # done: deselected
    expect(page.locator("#bulk-count")).to_have_text("1 selected")
    assert page.evaluate("window.samePage") is True
    assert (_task(app, todo.id).status, _task(app, broken.id).status,
            _task(app, other.id).status) == ("completed", "failed", "pending")


def test_viewer_has_no_select_mode_and_is_refused_when_posting(app, page_for, developer,
                                                              viewer):
    with app.app_context():
        project = factories.project(developer, settings={"members": [str(viewer.id)]})
        task = factories.task(project, db.session.get(User, developer.id), title="Look only")
    page = page_for(viewer, f"/projects/{project.id}/board")
    expect(page.locator(f"#task-{task.id}-card")).to_be_visible()
    for selector in ("#bulk-toggle", "#bulk-form", f"#task-{task.id}-select",
                     "[data-select-all]"):
        expect(page.locator(selector)).to_have_count(0)
    status = page.evaluate("""async ([url, taskId]) => {
        const token = decodeURIComponent(document.cookie.match(/csrf_access_token=([^;]+)/)[1]);
        const r = await fetch(url, {method: "POST", headers: {"X-CSRF-TOKEN": token},
            body: new URLSearchParams([["operation", "delete"], ["confirm", "yes"],
                                       ["task_ids", taskId]])});
        return r.status;
    }""", [f"/projects/{project.id}/bulk", str(task.id)])
    assert status == 403
    assert _task(app, task.id).deleted_at is None


def test_a_filtered_board_does_not_show_a_pushed_card_that_does_not_match(app, page_for,
                                                                          developer):
    with app.app_context():
        owner = db.session.get(User, developer.id)
        project = factories.project(owner, name="Filtered")
        tagged = factories.task(project, owner, title="Tagged one", tags=["x"])
        plain = factories.task(project, owner, title="Plain one")
    page = page_for(developer, f"/projects/{project.id}/board?tag=x")
    page.evaluate("""() => {
        window.samePage = true;
        window.cardsAdded = [];
        new MutationObserver((records) => records.forEach((r) => r.addedNodes.forEach((n) => {
            if (n.nodeType !== 1) { return; }
            [n, ...n.querySelectorAll("article.task-card")].forEach((el) => {
                if (el.matches("article.task-card")) { window.cardsAdded.push(el.id); }
            });
        }))).observe(document.body, {childList: true, subtree: true});
    }""")
    expect(page.locator("#board")).to_have_attribute("data-filtered", "1")
    expect(page.locator(f"#task-{tagged.id}-card")).to_be_visible()
    expect(page.locator(f"#task-{plain.id}-card")).to_have_count(0)
    expect(page.locator("#board-col-pending-count")).to_have_text("1")
    expect(page.locator("#board-live")).to_have_attribute("data-live", "open", timeout=WAIT)
    wait_for(lambda: _listening(app, developer), 10, 0.05, "the page socket to subscribe")
    page.click("#bulk-toggle")
    page.check(f"#task-{tagged.id}-select")
    page.focus(f"#task-{tagged.id}-select")

    with app.app_context():                                   # changes made elsewhere
        from app.services.tasks import update_task

        me = db.session.get(User, developer.id)
        update_task(plain.id, me, {"status": "completed"})    # pushed: card + counts
        stranger = factories.task(project, me, title="Untagged newcomer")
        newcomer = factories.task(project, me, title="Tagged newcomer", tags=["x"])
    expect(page.locator(f"#board-col-pending-cards #task-{newcomer.id}-card")).to_be_visible(
        timeout=WAIT)                                         # the board was re-fetched
    expect(page.locator("#board-col-pending-count")).to_have_text("2", timeout=WAIT)
    expect(page.locator("#board-col-completed-count")).to_have_text("0")
    for hidden in (plain.id, stranger.id):
        expect(page.locator(f"#task-{hidden}-card")).to_have_count(0)
    added = page.evaluate("window.cardsAdded")
    assert f"task-{newcomer.id}-card" in added
    assert f"task-{plain.id}-card" not in added and f"task-{stranger.id}-card" not in added
    expect(page.locator(f"#task-{tagged.id}-select")).to_be_checked()     # selection kept
    expect(page.locator(f"#task-{tagged.id}-select")).to_be_focused()     # and the focus
    expect(page.locator("#bulk-count")).to_have_text("1 selected")
    assert page.evaluate("window.samePage") is True


def test_admin_moves_a_queued_task_from_low_to_high(app, page_for, admin):
    with app.app_context():
        me = db.session.get(User, admin.id)
        project = factories.project(me, name="Queue home")
        first = factories.task(project, me, title="First in line", executor="shell",
                               command="true")
        second = factories.task(project, me, title="Second in line", executor="shell",
                                command="true")
        for task in (first, second):
            executions.execute(task.id, me, "low")
    page = page_for(admin, "/queues")
    page.evaluate("window.samePage = true")
    expect(page.locator("#queues-live")).to_have_attribute("data-live", "open", timeout=WAIT)
    expect(page.locator("#queue-low-size")).to_have_text("2")
    expect(page.locator(f"#queue-low-waiting-list #queued-{first.id}")).to_contain_text(
        "First in line")

    page.check(f"#queued-{first.id}-select")
    expect(page.locator("#queues-moves-count")).to_have_text("1 selected")
    page.select_option("#queues-moves-to", "high")
    page.click("#queues-moves-submit")
    expect(page.locator("#queues-moves-summary")).to_have_text("Moved 1 of 1 task to high.",
                                                               timeout=WAIT)
    expect(page.locator("#queue-high-size")).to_have_text("1", timeout=WAIT)
    expect(page.locator("#queue-low-size")).to_have_text("1", timeout=WAIT)
    expect(page.locator(f"#queue-high-waiting-list #queued-{first.id}")).to_be_visible()
    expect(page.locator(f"#queued-{first.id}-select")).not_to_be_checked()
    with app.app_context():
        run = db.session.query(TaskExecution).filter_by(task_id=first.id).one()
        assert (run.status, run.queue) == ("queued", "high")
        assert (queues.sizes()["high"], queues.sizes()["low"]) == (1, 1)

    wait_for(lambda: _listening(app, admin), 10, 0.05, "the page socket to subscribe")
    with app.app_context():                                   # moved by someone else: live
        from app.services import queue_control

        queue_control.set_priority([second.id], "high", db.session.get(User, admin.id))
    expect(page.locator("#queue-high-size")).to_have_text("2", timeout=WAIT)
    expect(page.locator(f"#queue-high-waiting-list #queued-{second.id}")).to_be_visible(
        timeout=WAIT)
    expect(page.locator("#queue-low-waiting-count")).to_have_text("0")
    assert page.evaluate("window.samePage") is True


def test_select_all_in_a_column_then_delete_asks_first(app, page_for, developer):
    with app.app_context():
        owner = db.session.get(User, developer.id)
        project = factories.project(owner, name="Cleanup")
        drafts = [factories.task(project, owner, title=f"Draft {n}") for n in (1, 2)]
        kept = factories.task(project, owner, title="Done already", status="completed")
    page = page_for(developer, f"/projects/{project.id}/board")
    expect(page.locator("#board-live")).to_have_attribute("data-live", "open", timeout=WAIT)
    wait_for(lambda: _listening(app, developer), 10, 0.05, "the page socket to subscribe")
    page.click("#bulk-toggle")
    page.click("#board-col-pending-select")
    expect(page.locator("#bulk-count")).to_have_text("2 selected")
    expect(page.locator("#board-col-pending-select")).to_have_text("Select none")
    expect(page.locator(f"#task-{kept.id}-select")).not_to_be_checked()

    asked: list[str] = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    page.click("#bulk-delete")
    wait_for(lambda: asked, 10, 0.05, "the confirmation")
    assert asked == ["Delete 2 selected tasks?"]
    assert all(_task(app, t.id).deleted_at is None for t in drafts)    # dismissed: kept

    page.once("dialog", lambda d: d.accept())
    page.click("#bulk-delete")
    expect(page.locator("#bulk-summary")).to_have_text("Delete: 2 of 2 tasks done.",
                                                       timeout=WAIT)
    for task in drafts:
        expect(page.locator(f"#task-{task.id}-card")).to_have_count(0, timeout=WAIT)
    expect(page.locator("#board-col-pending-count")).to_have_text("0", timeout=WAIT)
    expect(page.locator("#bulk-count")).to_have_text("None selected")
    assert all(_task(app, t.id).deleted_at is not None for t in drafts)
    assert _task(app, kept.id).deleted_at is None
