"""The live output viewer in a real Chromium against a live server and a real worker: lines
appear as they are written, escaped, coloured; state changes without reload; a page opened
mid-run and a dropped socket both end with every line exactly once."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models.command import CommandRun
from app.models.execution import TaskExecution
from app.models.user import User
from tests import factories
from tests.live import wait_for

pytestmark = pytest.mark.browser
WAIT = 15000  # ms: the machine may be busy; each wait still ends as soon as it holds
UUID = r"[0-9a-f-]{36}"


def _status(app, model, run_id: str) -> str | None:
    with app.app_context():
        row = db.session.get(model, uuid.UUID(run_id))
        return row.status if row else None


def _shown_seqs(page, run_id: str) -> list[int]:
    return page.eval_on_selector_all(f"#out-{run_id}-log [data-seq]",
                                     "els => els.map(e => Number(e.dataset.seq))")


def _task(app, owner, command: str, **kwargs):
    with app.app_context():
        project = factories.project(owner)
        return factories.task(project, db.session.get(User, owner.id), executor="shell",
                              command=command, **kwargs)


def test_execute_and_watch_lines_arrive_escaped_and_coloured(app, page_for, developer,
                                                             start_worker, worker_env):
    script = ("for i in $(seq 1 12); do echo line $i; sleep 0.15; done; "
              "echo '<script>window.pwned=1</script>'; "
              "echo '<img src=x onerror=\"window.pwned=2\">'; "
              "printf '\\033[31mred\\033[0m plain\\n'; echo oops >&2")
    task = _task(app, developer, script)
    start_worker(env={**worker_env, "SHELL_OUTPUT_STREAMS": "separate"})  # stderr apart
    page = page_for(developer, f"/tasks/{task.id}")
    page.click(f"#task-{task.id}-execute")
    page.wait_for_url(re.compile(rf"/executions/{UUID}$"))
    run_id = page.url.rsplit("/", 1)[1]
    page.evaluate("window.samePage = true")
    log = page.locator(f"#out-{run_id}-log")
    expect(log.locator(".ln").first).to_be_visible(timeout=20000)
    first_count = log.locator(".ln").count()
    expect(log).to_contain_text("oops", timeout=20000)
    assert first_count < 16                                  # they came in as they were written
    expect(page.locator(f"#run-{run_id}-status")).to_have_text("completed", timeout=20000)
    expect(page.locator(f"#task-{task.id}-status")).to_have_text("completed", timeout=WAIT)
    assert _shown_seqs(page, run_id) == list(range(1, 17))   # every line once, in order
    expect(log).to_contain_text("<script>window.pwned=1</script>", timeout=WAIT)
    expect(log).to_contain_text('<img src=x onerror="window.pwned=2">', timeout=WAIT)
    assert page.evaluate("window.pwned") is None             # nothing from the output ran
    assert page.locator(f"#out-{run_id}-log img, #out-{run_id}-log script").count() == 0
    expect(log.locator(".ansi-red")).to_have_text("red", timeout=WAIT)
    expect(log.locator(".ln-stderr")).to_contain_text("oops", timeout=WAIT)
    assert page.evaluate("window.samePage") is True
    page.click(f"#out-{run_id}-copy")
    expect(page.locator(f"#out-{run_id}-note")).to_contain_text("Copied 16 lines", timeout=WAIT)
    assert "line 12\n" in page.evaluate("window.viewerLastCopy")


def test_cancel_from_the_viewer_without_reload(app, page_for, developer, start_worker):
    task = _task(app, developer, "echo started; sleep 30")
    start_worker()
    page = page_for(developer, f"/tasks/{task.id}")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click(f"#task-{task.id}-execute")
    page.wait_for_url(re.compile(rf"/executions/{UUID}$"))
    run_id = page.url.rsplit("/", 1)[1]
    page.evaluate("window.samePage = true")
    expect(page.locator(f"#out-{run_id}-log")).to_contain_text("started", timeout=20000)
    expect(page.locator(f"#run-{run_id}-status")).to_have_text("running", timeout=WAIT)
    page.click(f"#task-{task.id}-cancel")
    expect(page.locator(f"#run-{run_id}-status")).to_have_text("cancelled", timeout=20000)
    expect(page.locator(f"#task-{task.id}-status")).to_have_text("cancelled", timeout=WAIT)
    expect(page.locator(f"#task-{task.id}-retry")).to_be_visible(timeout=WAIT)
    assert page.evaluate("window.samePage") is True
    assert _status(app, TaskExecution, run_id) == "cancelled"


def test_phone_width_watch_and_cancel(app, page_for, developer, start_worker):
    task = _task(app, developer, "for i in $(seq 1 200); do echo tick $i; sleep 0.1; done")
    start_worker()
    page = page_for(developer, f"/tasks/{task.id}", viewport={"width": 390, "height": 800})
    page.on("dialog", lambda dialog: dialog.accept())
    page.click(f"#task-{task.id}-execute")
    page.wait_for_url(re.compile(rf"/executions/{UUID}$"))
    run_id = page.url.rsplit("/", 1)[1]
    expect(page.locator(f"#out-{run_id}-log")).to_contain_text("tick 3", timeout=20000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390   # no sideways page
    cancel = page.locator(f"#task-{task.id}-cancel")
    # Within the phone's width (waited for: the socket may be redrawing the run's header).
    page.wait_for_function(
        "id => { const el = document.getElementById(id); if (!el) { return false; }"
        " const r = el.getBoundingClientRect(); return r.width > 0 && r.left >= 0"
        " && r.right <= 390; }", arg=f"task-{task.id}-cancel")
    cancel.focus()
    page.keyboard.press("Enter")
    expect(page.locator(f"#run-{run_id}-status")).to_have_text("cancelled", timeout=20000)


def test_page_opened_mid_run_and_a_dropped_socket_show_every_line_once(app, page_for,
                                                                        developer,
                                                                        start_worker):
    start_worker(queues="high")
    with app.app_context():
        from app.services import commands

        started = commands.execute(db.session.get(User, developer.id),
                                   "for i in $(seq 1 60); do echo n $i; sleep 0.1; done")
    run_id = started["command_id"]
    wait_for(lambda: _line_count(app, run_id) >= 10, 20, 0.05, "the first lines")
    page = page_for(developer, f"/commands/{run_id}")      # opened mid-run
    shown = _shown_seqs(page, run_id)
    assert shown and shown == list(range(1, len(shown) + 1))
    expect(page.locator("#run-live")).to_have_attribute("data-live", "open", timeout=WAIT)
    wait_for(lambda: len(_shown_seqs(page, run_id)) > len(shown) + 5, 20, 0.1,
             "live lines after the page was drawn")
    dropped = _drop_sockets(app)                           # the server cuts the socket
    wait_for(lambda: _pages_sockets(app) - dropped, 20, 0.1, "the page to reconnect")
    assert len(_shown_seqs(page, run_id)) < 60             # ... while lines were still coming
    expect(page.locator(f"#run-{run_id}-status")).to_have_text("completed", timeout=30000)
    wait_for(lambda: len(_shown_seqs(page, run_id)) >= 60, 10, 0.1, "every line")
    assert _shown_seqs(page, run_id) == list(range(1, 61))
    assert _status(app, CommandRun, run_id) == "completed"


def test_a_long_live_log_stays_bounded_in_the_page(app, page_for, developer, start_worker):
    start_worker(queues="high")
    with app.app_context():
        from app.services import commands

        started = commands.execute(db.session.get(User, developer.id),
                                   "sleep 1; seq 1 4000; sleep 0.5; echo end")
    run_id = started["command_id"]
    page = page_for(developer, f"/commands/{run_id}")
    expect(page.locator(f"#out-{run_id}-log")).to_contain_text("end", timeout=30000)
    shown = _shown_seqs(page, run_id)
    assert shown[-1] == 4001 and len(shown) <= 3000           # the tail only, in order
    assert shown == list(range(shown[0], 4002))
    page.click(f"#out-{run_id}-earlier button")               # what was dropped comes back
    earlier = page.locator(f'#out-{run_id}-log [data-seq="{shown[0] - 500}"]')
    expect(earlier).to_be_attached(timeout=WAIT)
    assert _shown_seqs(page, run_id) == list(range(shown[0] - 500, 4002))


def test_earlier_lines_load_on_demand(app, page_for, developer):
    with app.app_context():
        owner = db.session.get(User, developer.id)
        run_id = str(factories.command(owner, status="completed", exit_code=0))
        factories.output_lines("command", uuid.UUID(run_id),
                               [f"row {i}\n" for i in range(1, 1301)])
    page = page_for(developer, f"/commands/{run_id}")
    assert _shown_seqs(page, run_id) == list(range(801, 1301))
    follow = page.locator(f"#out-{run_id}-follow")
    expect(follow).to_be_checked()                            # the end is in view
    page.locator(f"#out-{run_id}-scroll").evaluate("el => { el.scrollTop = 0; }")
    expect(follow).not_to_be_checked()                        # reading above: paused
    page.click(f"#out-{run_id}-earlier button")
    expect(page.locator(f'#out-{run_id}-log [data-seq="301"]')).to_be_attached(timeout=WAIT)
    page.click(f"#out-{run_id}-earlier button")
    expect(page.locator(f"#out-{run_id}-earlier")).to_have_count(0, timeout=WAIT)
    assert _shown_seqs(page, run_id) == list(range(1, 1301))


def _line_count(app, run_id: str) -> int:
    with app.app_context():
        row = db.session.get(CommandRun, uuid.UUID(run_id))
        from sqlalchemy import func, select

        from app.models.execution import OutputLine

        return db.session.scalar(select(func.count()).select_from(OutputLine).where(
            OutputLine.owner_id == row.id)) or 0


def _pages_sockets(app) -> set[str]:
    from app.realtime.hub import get_hub

    return {s.id for s in get_hub(app).subscribers()
            if getattr(s, "wants_queues", None) is not None and not s.closed}


def _drop_sockets(app) -> set[str]:
    """Cut every pages socket of this process, as a network failure would (no close frame)."""
    from app.realtime.hub import get_hub

    subs = [s for s in get_hub(app).subscribers() if s.id in _pages_sockets(app)]
    assert subs
    for sub in subs:
        sub.abort()
    return {s.id for s in subs}
