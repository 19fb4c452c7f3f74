"""The command console's handlers through the test client: suggestions and safety analysis as
you type, refusals shown in the form with nothing written, running, cancelling, re-running,
the directory picker and permissions. (Live output with a real worker: tests/e2e.)"""

from __future__ import annotations

import re
import uuid

from sqlalchemy import func, select

from app.extensions import db
from app.models.command import CommandRun
from app.models.user import User
from tests import factories
from tests.pages import login_client

page_client = login_client.page_client  # the fixture shared by the page tests


def _commands(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(CommandRun))


def test_console_page(page_client, developer, viewer):
    page = page_client(developer).get("/commands")
    assert page.status_code == 200
    assert b'id="console-form"' in page.data and b'id="console-history"' in page.data
    assert b'ws-connect="/ws/pages?topics=commands,system"' in page.data
    assert b'id="console-run-button"' in page.data and b'id="console-force"' not in page.data
    readonly = page_client(viewer).get("/commands").data
    assert b'id="console-run-button"' not in readonly and b'id="console-readonly"' in readonly


def test_suggestions_and_safety_as_you_type(page_client, developer):
    client = page_client(developer)
    typed = client.hx_get("/commands/assist?command=git%20st").data.decode()
    assert 'data-fill="git status"' in typed and 'data-fill="git stash"' in typed
    assert "No safety warnings" in typed and "<html" not in typed
    unsafe = client.hx_get("/commands/assist?command=rm%20-rf%20/").data.decode()
    assert 'data-level="danger"' in unsafe and "will be refused" in unsafe
    assert "delete the whole filesystem" in unsafe
    warned = client.hx_get("/commands/assist?command=git%20push%20--force").data.decode()
    assert 'data-level="warning"' in warned and "Force-push" in warned
    broken = client.hx_get("/commands/assist?command=echo%20%22open").data.decode()
    assert 'data-level="invalid"' in broken and "does not parse" in broken
    assert "console-safety" not in client.hx_get("/commands/assist?command=").data.decode()


def test_history_feeds_suggestions(app, page_client, developer):
    with app.app_context():
        factories.command(db.session.get(User, developer.id), status="completed",
                          command_line="pytest -k slow_tests")
    typed = page_client(developer).hx_get("/commands/assist?command=pyt").data.decode()
    assert 'data-fill="pytest -k slow_tests"' in typed and ">history<" in typed


def test_refusals_are_shown_in_the_form_and_nothing_is_written(app, page_client, developer):
    client = page_client(developer)
    unsafe = client.hx_post("/commands", {"command": "rm -rf /"})
    assert unsafe.status_code == 422
    assert unsafe.headers["HX-Retarget"] == "#console-form-card"
    assert b'id="console-command-error"' in unsafe.data
    assert b"delete the whole filesystem" in unsafe.data
    assert b'value="rm -rf /"' in unsafe.data                  # what was typed stays
    empty = client.hx_post("/commands", {"command": "  "})
    assert empty.status_code == 422 and b"Type a command to run" in empty.data
    outside = client.hx_post("/commands", {"command": "ls", "working_directory": "../.."})
    assert outside.status_code == 422 and b'id="console-workdir-error"' in outside.data
    timeout = client.hx_post("/commands", {"command": "ls", "timeout": "soon"})
    assert timeout.status_code == 422 and b'id="console-timeout-error"' in timeout.data
    assert _commands(app) == 0


def test_viewer_cannot_run(app, page_client, viewer):
    resp = page_client(viewer).hx_post("/commands", {"command": "ls"})
    assert resp.status_code == 403 and _commands(app) == 0


def test_run_shows_the_live_panel_and_history(app, page_client, developer):
    client = page_client(developer)
    resp = client.hx_post("/commands", {"command": "echo hello"})
    assert resp.status_code == 200
    body = resp.data.decode()
    command_id = re.search(r'id="run-([0-9a-f-]{36})-header"', body).group(1)
    assert f'ws-connect="/ws/pages?topics=command:{command_id},system&amp;after_seq=0"' in body
    assert 'id="console-history" class="card"' in body and 'hx-swap-oob="true"' in body
    assert f'id="command-{command_id}-row"' in body
    assert f'id="run-{command_id}-cancel"' in body              # queued (no worker): cancellable
    cancelled = client.hx_post(f"/commands/{command_id}/cancel")
    assert b"status-cancelled" in cancelled.data and b'data-status="cancelled"' in cancelled.data
    with app.app_context():
        assert db.session.get(CommandRun, uuid.UUID(command_id)).status == "cancelled"


def test_rerun_runs_the_same_line_again(app, page_client, developer):
    with app.app_context():
        old = factories.command(db.session.get(User, developer.id), status="completed",
                                command_line="echo again", exit_code=0)
    client = page_client(developer)
    resp = client.hx_post(f"/commands/{old}/rerun")
    assert resp.status_code == 204 and resp.headers["HX-Redirect"].startswith("/commands/")
    inline = client.hx_post(f"/commands/{old}/rerun", {"inline": "1"})
    assert b'id="console-run"' in inline.data
    with app.app_context():
        lines = db.session.scalars(select(CommandRun.command)).all()
        assert lines.count("echo again") == 3


def test_directory_picker_lists_the_project_workspace(app, page_client, developer, make_user):
    with app.app_context():
        from app.services import workspace

        project = factories.project(developer)
        base = workspace.create(project.id)
        (base / "src" / "app").mkdir(parents=True)
        (base / ".git").mkdir()
        theirs = factories.project(make_user(role="developer"))
    client = page_client(developer)
    mine = client.hx_get(f"/commands/directories?project_id={project.id}").data.decode()
    assert '<option value="src">' in mine and '<option value="src/app">' in mine
    assert ".git" not in mine
    other = client.hx_get(f"/commands/directories?project_id={theirs.id}").data.decode()
    assert "<option" not in other
    assert "<option" not in client.hx_get("/commands/directories?project_id=nope").data.decode()
