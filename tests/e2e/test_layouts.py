"""Layouts hold real data (issue 10, point 22), in Chromium against a live server and a real
worker: a 200-character title without a space, 20 tags of 50 characters, a long command and its
long output line (tests/e2e/real_data.py).

- At 390 px (a phone) no page is wider than the screen, and the nav is a menu button that
  opens and closes from the mouse and the keyboard.
- At 1366×768 every board column can be scrolled into view (the board scrolls, not the page),
  and long titles, tags and commands wrap inside their cards and boxes.
"""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models.command import CommandRun
from app.models.execution import TaskExecution
from app.models.task import TASK_STATUSES
from app.models.user import User
from tests.e2e import real_data
from tests.live import wait_for

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
FINAL = ("completed", "failed", "cancelled")

# Elements whose content is wider than their own box while nothing scrolls or clips it: text
# spilling out of a card, a tag or a heading (scroll containers such as tables are fine).
SPILLING = """(selector) => [...document.querySelectorAll(selector)]
  .filter(el => el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === 'visible')
  .map(el => (el.id || el.className) + ': ' + el.scrollWidth + ' > ' + el.clientWidth)"""
# What sticks out past the right edge of the screen (to say why a page is too wide).
STICKING_OUT = """() => [...document.querySelectorAll('body *')]
  .filter(el => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .slice(-5).map(el => el.tagName.toLowerCase() + '#' + el.id + '.' + el.className)"""


@pytest.fixture
def data(app, admin, start_worker):
    """The real data, plus one finished run of the long command and one finished console
    command printing a 900-character line (so the viewer pages have real output)."""
    from app.services import commands, executions

    with app.app_context():
        made = real_data.make(admin)
        user = db.session.get(User, admin.id)
        run = executions.execute(uuid.UUID(made.task), user)["execution_id"]
        command = commands.execute(user, "printf '%0900d\\n' 0",
                                   project_id=uuid.UUID(made.project))["command_id"]
    start_worker()

    def finished() -> bool:
        with app.app_context():
            states = (db.session.get(TaskExecution, uuid.UUID(str(run))).status,
                      db.session.get(CommandRun, uuid.UUID(str(command))).status)
            db.session.remove()
        return all(s in FINAL for s in states)

    wait_for(finished, 60, 0.1, "the task run and the console command to finish")
    return made, str(run), str(command)


def _pages(made: real_data.RealData, run: str, command: str) -> list[str]:
    p, t = made.project, made.task
    return ["/", "/projects", f"/projects/{p}", f"/projects/{p}/board",
            f"/projects/{p}/analytics", f"/tasks/{t}", f"/tasks/{t}/edit",
            f"/projects/{p}/tasks/new", f"/executions/{run}", f"/commands/{command}",
            "/commands", "/queues", "/sessions", f"/sessions/{made.session}", "/webhooks",
            f"/webhooks/{made.webhook}", "/profile", "/admin"]


def test_no_page_is_wider_than_a_phone(app, data, page_for, admin, browser, live_server):
    made, run, command = data
    page = page_for(admin, viewport=PHONE)
    too_wide = {}
    for path in _pages(made, run, command):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            too_wide[path] = (width, page.evaluate(STICKING_OUT))
    anonymous = browser.new_context(base_url=live_server, viewport=PHONE).new_page()
    anonymous.goto("/login")
    if anonymous.evaluate("document.documentElement.scrollWidth") > PHONE["width"]:
        too_wide["/login"] = anonymous.evaluate(STICKING_OUT)
    anonymous.context.close()
    assert too_wide == {}


def test_long_title_tags_and_command_wrap_on_the_task_page(data, page_for, admin):
    made, _run, _command = data
    for viewport in (PHONE, LAPTOP):
        page = page_for(admin, f"/tasks/{made.task}", viewport=viewport)
        expect(page.locator("#task-title")).to_have_text(real_data.LONG_TITLE)
        tags = page.locator("#task-facts .tag")
        expect(tags).to_have_count(20)
        expect(page.locator("#task-command")).to_have_text(real_data.LONG_COMMAND)
        assert page.evaluate(SPILLING, "#task-title, #task-facts .tag, #task-command, "
                                       ".crumbs, .description") == []
        for box in (page.locator("#task-title"), page.locator("#task-command"), tags.last):
            right = box.bounding_box()["x"] + box.bounding_box()["width"]
            assert right <= viewport["width"]


def test_every_board_column_scrolls_into_view_at_1366(data, page_for, admin):
    made, _run, _command = data
    page = page_for(admin, f"/projects/{made.project}/board", viewport=LAPTOP)
    board = page.locator(".board-columns")
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]
    assert page.evaluate(SPILLING, ".task-card, .task-card-title, .tag") == []
    assert board.evaluate("b => b.scrollWidth > b.clientWidth")  # six columns do not fit
    box = board.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 40)
    for status in TASK_STATUSES:                  # a wheel (or trackpad) sideways over the board
        column = page.locator(f"#board-col-{status}")
        for _ in range(40):
            if _inside(column.bounding_box(), board.bounding_box(), LAPTOP):
                break
            page.mouse.wheel(150, 0)
            page.wait_for_timeout(30)
        assert _inside(column.bounding_box(), board.bounding_box(), LAPTOP), status
        expect(column.locator(".task-card").first).to_be_visible()
    # From the keyboard: tabbing to a card of the last column brings it into view too.
    board.evaluate("b => { b.scrollLeft = 0; }")
    last = page.locator(f"#task-{made.by_status['cancelled']}-card a")
    last.focus()
    assert _inside(page.locator("#board-col-cancelled").bounding_box(),
                   board.bounding_box(), LAPTOP, partly=True)


def _inside(rect: dict, board: dict, viewport: dict, partly: bool = False) -> bool:
    """The column lies within the board's visible part and the screen (horizontally)."""
    left, right = rect["x"], rect["x"] + rect["width"]
    lo, hi = max(board["x"], 0), min(board["x"] + board["width"], viewport["width"])
    if partly:
        return right > lo and left < hi
    return left >= lo - 1 and right <= hi + 1


def test_nav_is_a_menu_on_a_phone_by_mouse_and_keyboard(page_for, developer):
    page = page_for(developer, "/projects", viewport=PHONE)
    toggle = page.locator("#nav-toggle")
    profile_link = page.locator("#site-menu a[href='/profile']")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(profile_link).to_be_hidden()

    toggle.click()                                              # mouse: open, close
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(profile_link).to_be_visible()
    toggle.click()
    expect(profile_link).to_be_hidden()
    toggle.click()
    page.mouse.click(200, 700)                                  # a click elsewhere closes it
    expect(profile_link).to_be_hidden()

    toggle.focus()                                              # keyboard: Enter, Escape, Space
    page.keyboard.press("Enter")
    expect(profile_link).to_be_visible()
    page.keyboard.press("Escape")
    expect(profile_link).to_be_hidden()
    expect(toggle).to_be_focused()
    page.keyboard.press("Space")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Tab")
    expect(page.locator("#site-menu a").first).to_be_focused()
    profile_link.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{page.url.split('/projects')[0]}/profile")
    expect(page.locator("#nav-toggle")).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#site-menu a[href='/profile']")).to_have_attribute("aria-current",
                                                                           "page")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_nav_is_a_row_of_links_on_a_laptop(page_for, developer):
    page = page_for(developer, "/projects", viewport=LAPTOP)
    expect(page.locator("#nav-toggle")).to_be_hidden()
    for href in ("/", "/projects", "/commands", "/queues", "/sessions", "/webhooks",
                 "/profile"):
        expect(page.locator(f"#site-menu a[href='{href}']")).to_be_visible()
