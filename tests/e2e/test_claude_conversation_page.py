"""Working with Claude in a real Chromium against a live server and a real worker (stand-in CLI):
the task page's conversation and Follow up, a message to a running agent from the run page,
and a permission request answered from the run page while the board card says "needs
attention" (then no longer)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.jobs.fixtures import ROOT, execute, python_for_runs, wait_final

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WAIT = 20000


@pytest.fixture
def claude_worker(start_worker, worker_env, tmp_path):
    """`claude_worker()`: a real worker whose Claude CLI is the stand-in (tests/fake_claude.py)."""
    tmp_path.chmod(0o711)  # runs may execute as another uid (app.services.run_identity)
    cli = tmp_path / "claude"
    cli.write_text(f"#!/bin/sh\nexec {python_for_runs()} {ROOT / 'tests' / 'fake_claude.py'} "
                   '"$@"\n')
    cli.chmod(0o755)
    return lambda: start_worker(env={**worker_env, "CLAUDE_CLI_PATH": str(cli),
                                     "ENGINE_HEARTBEAT_TTL": "3"})


@pytest.fixture
def dev(developer):
    return developer


@pytest.fixture
def project(app, developer):
    with app.app_context():
        return factories.project(developer)


def _watch(page) -> list[str]:
    complaints: list[str] = []
    page.on("console", lambda msg: complaints.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: complaints.append(str(exc)))
    return complaints


def _run(client, headers, task) -> dict:
    resp = execute(client, headers, task.id)
    assert resp.status_code == 200, resp.get_json()
    return wait_final(client, headers, resp.get_json()["data"]["execution_id"])


def test_follow_up_and_a_message_from_the_pages(app, page_for, dev, project, claude_worker,
                                                client, auth):
    claude_worker()
    h = auth(dev)
    with app.app_context():
        task = factories.task(project, dev, "Remember the word pelican", executor="claude",
                              command="Remember the word pelican")
    first = _run(client, h, task)
    assert first["status"] == "completed"

    page = page_for(dev, f"/tasks/{task.id}")
    complaints = _watch(page)
    panel = page.locator(f"#task-{task.id}-conversation")
    expect(panel.locator(".turn")).to_have_count(1, timeout=WAIT)
    expect(panel).to_contain_text("Remember the word pelican")
    expect(panel).to_contain_text("I'll list the files.")
    expect(panel.locator(".cl-tool")).to_have_count(1)  # the tool call, folded ...
    expect(panel.locator(".cl-tool .cl-result")).to_have_count(1)  # ... with its result
    expect(panel.locator(".cl-final")).to_contain_text("$0.0123")
    page.fill(f"#task-{task.id}-follow-up-message", "-what was the word? [scenario:recall]")
    page.click(f"#task-{task.id}-follow-up-button")
    page.wait_for_url(lambda url: "/executions/" in url and first["id"] not in url)
    new_id = page.url.rstrip("/").rsplit("/", 1)[1]
    expect(page.locator(f"#run-{new_id}-status")).to_have_text("completed", timeout=WAIT)
    expect(page.locator(f"#out-{new_id}-log")).to_contain_text("earlier_prompts")
    expect(page.locator(f"#run-{new_id}-prompt")).to_contain_text("Follow-up")
    # The ended run offers the next follow-up.
    expect(page.locator(f"#task-{task.id}-follow-up-button")).to_be_visible()

    page.goto(f"/tasks/{task.id}")
    expect(panel.locator(".turn")).to_have_count(2, timeout=WAIT)
    expect(panel.locator(".new-conversation")).to_have_count(0)  # one conversation
    expect(panel.locator(".turn").nth(1)).to_contain_text("-what was the word?")
    expect(panel.locator(".turn").nth(1)).to_contain_text("Remember the word pelican")

    # A message to a running agent, from its run page.
    with app.app_context():
        waiting = factories.task(project, dev, "Wait", executor="claude",
                                 command="[scenario:wait]")
    eid = execute(client, h, waiting.id).get_json()["data"]["execution_id"]
    page.goto(f"/executions/{eid}")
    expect(page.locator(f"#out-{eid}-log")).to_contain_text("Waiting", timeout=WAIT)
    page.fill(f"#run-{eid}-say", "please also update the docs")
    page.click(f"#run-{eid}-send")
    expect(page.locator(f"#run-{eid}-say")).to_have_value("", timeout=WAIT)  # sent: cleared
    expect(page.locator(f"#out-{eid}-log")).to_contain_text(
        "You said: please also update the docs", timeout=WAIT)
    expect(page.locator(f"#run-{eid}-status")).to_have_text("completed", timeout=WAIT)
    expect(page.locator(f"#out-{eid}-log .cl-prompt")).to_contain_text(
        "please also update the docs")
    assert complaints == []


def test_a_permission_request_answered_from_the_run_page(app, page_for, dev, project,
                                                         claude_worker, client, auth):
    claude_worker()
    h = auth(dev)
    with app.app_context():
        task = factories.task(project, dev, "Clean up", executor="claude",
                              command="[scenario:approval]")
    board = page_for(dev, f"/projects/{project.id}/board")
    complaints = _watch(board)
    card = board.locator(f"#task-{task.id}-card")
    expect(card).to_be_visible()
    expect(card.locator(".needs-attention")).to_have_count(0)
    eid = execute(client, h, task.id).get_json()["data"]["execution_id"]
    expect(card.locator(".needs-attention")).to_be_visible(timeout=WAIT)  # pushed live

    run = board.context.new_page()
    complaints += _watch(run)
    run.goto(f"/executions/{eid}")
    attention = run.locator(f"#run-{eid}-attention")
    expect(attention).to_contain_text("rm -rf build", timeout=WAIT)
    expect(run.locator(f"#run-{eid}-needs-attention")).to_be_visible()
    approval = attention.locator(".approval").first
    approval_id = approval.get_attribute("id").removeprefix("approval-")
    run.click(f"#approval-{approval_id}-allow")
    expect(run.locator(f"#run-{eid}-status")).to_have_text("completed", timeout=WAIT)
    expect(run.locator(f"#out-{eid}-log")).to_contain_text("ran: rm -rf build")
    expect(run.locator(f"#out-{eid}-log .cl-permission")).to_contain_text(["Permission "
                                                                         "requested",
                                                                         "Allowed by"])
    expect(attention).to_have_count(0)
    expect(run.locator(f"#run-{eid}-approvals")).to_contain_text("allowed")
    expect(card.locator(".needs-attention")).to_have_count(0, timeout=WAIT)
    history = client.get(f"/api/tasks/{task.id}/history", headers=h).get_json()["data"]
    assert [e["action"] for e in history["history"] if e["details"].get("field") ==
            "approval"] == ["approval_requested", "approval_allowed"]
    assert complaints == []
