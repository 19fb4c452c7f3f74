"""The worktree panel in a real Chromium against a live server and a real worker: it fills in
when a run ends (the page socket's status push), shows file content as text, and its Commit,
Discard (confirmed) and Merge buttons act, a conflict being said in place."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.live import wait_for
from tests.worktrees.conftest import git, workspace_of

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WAIT = 20000


def _run_and_wait(client, headers, task_id) -> None:
    resp = client.post(f"/api/tasks/{task_id}/execute", json={"priority": "high"},
                       headers=headers)
    assert resp.status_code == 200, resp.get_json()
    wait_for(lambda: client.get(f"/api/tasks/{task_id}", headers=headers).get_json()["data"]
             ["status"] in ("completed", "failed"), 30, 0.1, "the run to end")


def test_panel_commit_discard_merge_and_conflict(app, page_for, dev, git_project, workers,
                                                 client, auth):
    workers(1)
    headers = auth(dev)
    with app.app_context():
        task = factories.task(git_project, dev, "Page change", executor="shell", command=(
            "printf '<script>window.pwned = 1</script>\\n' > evil.html; "
            "echo world >> README.md"))
        rival = factories.task(git_project, dev, "Rival", executor="shell",
                               command="echo other > README.md")
    panel_id = f"#task-{task.id}-worktree"

    page = page_for(dev, f"/tasks/{task.id}")
    page.on("dialog", lambda dialog: dialog.accept())
    complaints: list[str] = []
    page.on("console", lambda msg: complaints.append(msg.text)
            if msg.type == "error" else None)
    page.on("pageerror", lambda exc: complaints.append(str(exc)))
    expect(page.locator(panel_id)).to_contain_text("made on its first run", timeout=WAIT)
    _run_and_wait(client, headers, task.id)  # the page socket pushes the status: panel redraws
    files = page.locator("#worktree-files")
    expect(files).to_contain_text("evil.html", timeout=WAIT)
    expect(files).to_contain_text("README.md")
    expect(page.locator(f"{panel_id} .diff-added").filter(
        has_text="<script>window.pwned = 1</script>")).to_have_count(1)
    assert page.evaluate("window.pwned") is None  # shown as text, never run
    expect(page.locator("#worktree-counts")).to_contain_text("2 uncommitted files")

    _run_and_wait(client, headers, rival.id)  # from main as it is now: before the merge below
    assert client.post(f"/api/tasks/{rival.id}/worktree/commit", json={"message": "Rival"},
                       headers=headers).status_code == 200

    page.fill("#worktree-commit-message", "Add evil.html as text")
    page.click("#worktree-commit")
    expect(page.locator("#worktree-result")).to_contain_text("Committed 2 file(s)",
                                                             timeout=WAIT)
    expect(page.locator("#worktree-counts")).to_contain_text("1 commit ahead")
    expect(page.locator("#worktree-counts")).to_contain_text("0 uncommitted files")
    expect(page.locator("#worktree-discard")).to_be_disabled()

    ws = workspace_of(app, git_project.id)
    scratch = ws / "worktrees" / str(task.id) / "scratch.txt"
    scratch.write_text("temporary\n")
    owner = os.stat(scratch.parent).st_uid
    os.chown(scratch, owner, owner)
    page.click(f"{panel_id} .worktree-refresh")
    expect(page.locator("#worktree-counts")).to_contain_text("1 uncommitted file",
                                                             timeout=WAIT)
    page.click("#worktree-discard")
    expect(page.locator("#worktree-result")).to_contain_text("Discarded 1 uncommitted file",
                                                             timeout=WAIT)
    assert not scratch.exists()

    page.click("#worktree-merge")
    expect(page.locator("#worktree-result")).to_contain_text(
        f"Merged task/{task.id.hex[:8]} into main (fast-forward", timeout=WAIT)
    assert (ws / "evil.html").exists()
    expect(page.locator("#worktree-summary")).to_contain_text("0 files changed")
    page.reload()
    expect(page.locator(f"#task-{task.id}-history")).to_contain_text("worktree merge")

    main_before = git(ws, "rev-parse", "main")
    page.goto(f"/tasks/{rival.id}")
    page.click("#worktree-merge")
    expect(page.locator("#worktree-error")).to_contain_text(
        "conflicts with main in 1 file(s): README.md", timeout=WAIT)
    expect(page.locator("#worktree-error")).to_contain_text("nothing was changed")
    assert git(ws, "rev-parse", "main") == main_before
    assert complaints == []  # no CSP violation, no script error


def test_viewer_sees_the_diff_without_buttons(app, page_for, dev, viewer, git_project,
                                              workers, client, auth):
    workers(1)
    with app.app_context():
        from app.extensions import db
        from app.models.user import User
        from app.services.projects import update_project

        update_project(git_project.id, db.session.get(User, dev.id),
                       {"settings": {"members": [str(viewer.id)]}})
        task = factories.task(git_project, dev, "Viewed", executor="shell", command=(
            "echo seen > seen.txt; mkdir -p " + "deep/" * 12 + "; "
            "printf '%0300d\\n' 0 > " + "deep/" * 12 + "long_file_name_" + "x" * 60))
    _run_and_wait(client, auth(dev), task.id)
    page = page_for(viewer, f"/tasks/{task.id}", viewport={"width": 390, "height": 800})
    expect(page.locator("#worktree-files")).to_contain_text("seen.txt", timeout=WAIT)
    expect(page.locator("#worktree-files")).to_contain_text("long_file_name_xxx")
    expect(page.locator("#worktree-commit")).to_have_count(0)
    expect(page.locator("#worktree-merge")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # long names wrap
