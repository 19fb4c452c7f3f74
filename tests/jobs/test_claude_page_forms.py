"""The Claude forms of the pages through a logged-in client (CSRF, htmx fragments): refusals are
the service's messages shown in place, a denial with its message from the run page reaches
the run, and a retry of a follow-up resumes the same conversation."""

from __future__ import annotations

import html
import re
import shutil

import pytest

from tests import factories
from tests.jobs.fixtures import execute, get_execution, wait_final
from tests.live import wait_for

pytestmark = pytest.mark.slow


def _text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def test_follow_up_refusals_are_shown_in_the_form(app, page_client, dev, viewer):
    # No `project` fixture here: it holds an app context for the whole test, which requests
    # would share (and with it `g`, the page's user) -- two users need their own.
    with app.app_context():
        project = factories.project(dev, settings={"members": [str(viewer.id)]})
        task = factories.task(project, dev, "Never ran", executor="claude")
    web = page_client(dev)
    panel = web.hx_get(f"/tasks/{task.id}/conversation")
    assert panel.status_code == 200 and "No Claude run yet" in _text(panel)
    assert f'id="task-{task.id}-follow-up"' not in _text(panel)  # nothing to follow up
    resp = web.hx_post(f"/tasks/{task.id}/follow-up", {"message": "go on"})
    body = _text(resp)
    assert resp.status_code == 200 and f'id="task-{task.id}-follow-up-error"' in body
    assert "no Claude conversation to continue yet" in body and "go on" in body
    empty = _text(web.hx_post(f"/tasks/{task.id}/follow-up", {"message": "  "}))
    assert "message: must not be empty" in empty
    assert web.hx_post(f"/tasks/{task.id}/follow-up", {"message": "x"}).status_code == 200
    watcher = page_client(viewer)
    assert watcher.hx_post(f"/tasks/{task.id}/follow-up", {"message": "x"}).status_code == 403


def test_deny_from_the_run_page_and_talking_to_an_ended_run(app, page_client, client, auth,
                                                             dev, project, workers):
    workers(1)
    h = auth(dev)
    with app.app_context():
        task = factories.task(project, dev, "Clean", executor="claude",
                              command="[scenario:approval]")
    eid = execute(client, h, task.id).get_json()["data"]["execution_id"]
    web = page_client(dev)

    def pending_id():
        page = _text(web.get(f"/executions/{eid}"))
        found = re.search(r'id="approval-([0-9a-f-]{36})-deny"', page)
        return found.group(1) if found else None

    approval = wait_for(pending_id, 20, 0.1, "the permission request on the run page")
    answer = web.hx_post(f"/approvals/{approval}/decision",
                         {"decision": "deny", "message": "Keep <the> build"})
    body = _text(answer)
    assert answer.status_code == 200 and f'id="run-{eid}-claude"' in answer.get_data(
        as_text=True)
    assert "Keep <the> build" in body and "&lt;the&gt;" in answer.get_data(as_text=True)
    data = wait_final(client, h, eid)
    assert data["status"] == "completed" and data["warning"]
    assert any(line["content"] == "I did not run it: Keep <the> build\n"
               for line in data["output"])
    again = _text(web.hx_post(f"/approvals/{approval}/decision", {"decision": "allow"}))
    assert "already denied" in again
    ended = _text(web.hx_post(f"/executions/{eid}/messages", {"message": "hello"}))
    assert f'id="run-{eid}-talk-error"' in ended and "Follow up" in ended
    page = _text(web.get(f"/executions/{eid}"))
    assert f'id="task-{task.id}-follow-up-button"' in page  # the ended run offers it
    assert f'id="run-{eid}-say"' in page


def test_a_retry_of_a_follow_up_resumes_the_same_conversation(app, client, auth, dev, project,
                                                              workers):
    workers(1)
    h = auth(dev)
    with app.app_context():
        from app.services import conversation

        task = factories.task(project, dev, "Start", executor="claude")
        config = conversation.config_dir(project.id)
    first = wait_final(client, h, execute(client, h, task.id).get_json()["data"][
        "execution_id"])
    session = first["claude"]["session_id"]
    saved = config.parent / "saved-transcripts"
    shutil.move(str(config / "projects"), saved)  # the follow-up fails: no transcript
    resp = client.post(f"/api/tasks/{task.id}/follow-up",
                       json={"message": "[scenario:recall] go on"}, headers=h)
    failed = wait_final(client, h, resp.get_json()["data"]["execution_id"])
    assert failed["error"]["code"] == "CLAUDE_SESSION_NOT_FOUND"
    shutil.move(str(saved), config / "projects")  # back: the retry repeats the follow-up
    retry = client.post(f"/api/tasks/{task.id}/retry", headers=h).get_json()["data"]
    data = wait_final(client, h, retry["execution_id"])
    assert data["status"] == "completed", data["error"]
    assert data["claude"]["resume_session_id"] == session
    assert data["claude"]["prompt"] == "[scenario:recall] go on"
    assert "Start" in get_execution(client, h, retry["execution_id"])["output"][1]["content"]
