"""Tasks of projects with settings.git.enabled, on real workers: each runs in its own worktree
on branch task/<short-id>, the diff API and the task page show what it changed (escaped),
and commit / discard / merge (with a conflict) act on real repositories."""

from __future__ import annotations

import pytest

from tests import factories
from tests.jobs.fixtures import execute, stdout_text, wait_final
from tests.worktrees.conftest import git, make_repo, readable_repo, workspace_of

pytestmark = pytest.mark.slow


def run(client, headers, task_id) -> dict:
    resp = execute(client, headers, task_id)
    assert resp.status_code == 200, resp.get_json()
    return wait_final(client, headers, resp.get_json()["data"]["execution_id"])


def shell_task(project, user, command: str, title: str = "edit files"):
    return factories.task(project, user, title, executor="shell", command=command)


def diff_of(client, headers, task_id, **query) -> dict:
    resp = client.get(f"/api/tasks/{task_id}/diff", query_string=query, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["data"]


def history_actions(client, headers, task_id) -> list[str]:
    data = client.get(f"/api/tasks/{task_id}/history", headers=headers).get_json()["data"]
    return [h["action"] for h in data["history"]]


def test_a_run_edits_its_own_worktree_and_the_diff_shows_it(client, auth, dev, git_project,
                                                             workers, ctx, page_client):
    workers(1)
    task = shell_task(git_project, dev, "pwd; git rev-parse --abbrev-ref HEAD; "
                      "printf '<script>alert(1)</script>\\n' > evil.html; "
                      "echo world >> README.md; if test -f again; then echo second run; fi")
    done = run(client, auth(dev), task.id)
    assert done["status"] == "completed", (done["error"], done["output"])
    ws = workspace_of(ctx, git_project.id)
    short = task.id.hex[:8]
    assert stdout_text(done).splitlines() == [str(ws / "worktrees" / str(task.id)),
                                              f"task/{short}"]
    assert (ws / "README.md").read_text() == "hello\n"  # the workspace itself is untouched
    assert git(ws, "status", "--porcelain") == ""  # worktrees/ is excluded there

    diff = diff_of(client, auth(dev), task.id)
    assert diff["exists"] and diff["branch"] == f"task/{short}"
    assert diff["base_branch"] == "main" and diff["uncommitted"] == 2
    assert diff["summary"] == {"files": 2, "additions": 2, "deletions": 0}
    files = {f["path"]: f for f in diff["files"]}
    assert files["evil.html"]["status"] == "added"
    assert files["evil.html"]["hunks"][0]["lines"] == [
        {"kind": "added", "old": None, "new": 1, "text": "<script>alert(1)</script>"}]
    readme = files["README.md"]["hunks"][0]
    assert (readme["old_start"], readme["new_start"]) == (1, 1)
    assert readme["lines"] == [{"kind": "context", "old": 1, "new": 1, "text": "hello"},
                               {"kind": "added", "old": None, "new": 2, "text": "world"}]

    panel = page_client(dev).hx_get(f"/tasks/{task.id}/worktree").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in panel
    assert "<script>alert(1)" not in panel
    assert "worktree_created" in history_actions(client, auth(dev), task.id)

    (ws / "worktrees" / str(task.id) / "again").touch()
    again = run(client, auth(dev), task.id)  # the same worktree, with what the first left
    assert "second run" in stdout_text(again)
    assert history_actions(client, auth(dev), task.id).count("worktree_created") == 1


def test_commit_discard_and_merge_into_base(client, auth, dev, git_project, workers, ctx,
                                            viewer):
    workers(1)
    headers = auth(dev)
    ws = workspace_of(ctx, git_project.id)
    task = shell_task(git_project, dev, "echo more >> README.md; mkdir -p docs; "
                      "echo guide > docs/guide.md", title="Write docs")
    assert run(client, headers, task.id)["status"] == "completed"
    branch = f"task/{task.id.hex[:8]}"

    nothing = client.post(f"/api/tasks/{task.id}/worktree/merge", headers=headers)
    assert nothing.status_code == 409  # uncommitted changes only: nothing committed to merge
    assert nothing.get_json()["error"]["code"] == "GIT_UNCOMMITTED_CHANGES"
    blank = client.post(f"/api/tasks/{task.id}/worktree/commit", json={"message": "  "},
                        headers=headers)
    assert blank.status_code == 422
    as_viewer = client.post(f"/api/tasks/{task.id}/worktree/commit", json={"message": "x"},
                            headers=auth(viewer))
    assert as_viewer.status_code == 403

    committed = client.post(f"/api/tasks/{task.id}/worktree/commit",
                            json={"message": "Add the guide"}, headers=headers)
    assert committed.status_code == 200, committed.get_json()
    sha = committed.get_json()["data"]["commit"]
    assert git(ws, "log", "-1", "--format=%H|%an|%s", branch).strip() == (
        f"{sha}|{dev.display_name}|Add the guide")
    after = diff_of(client, headers, task.id)
    assert (after["uncommitted"], after["ahead"]) == (0, 1)
    assert after["summary"]["files"] == 2  # still against main, now committed
    again = client.post(f"/api/tasks/{task.id}/worktree/commit", json={"message": "again"},
                        headers=headers)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "GIT_NOTHING_TO_DO"

    tree = ws / "worktrees" / str(task.id)
    scratch = shell_task(git_project, dev, "x")  # not run: only to prove isolation below
    assert not (ws / "worktrees" / str(scratch.id)).exists()
    (tree / "junk.txt").write_text("throw me away\n")
    (tree / "README.md").write_text("overwritten\n")
    refused = client.post(f"/api/tasks/{task.id}/worktree/discard", json={}, headers=headers)
    assert refused.status_code == 422 and (tree / "junk.txt").exists()
    discarded = client.post(f"/api/tasks/{task.id}/worktree/discard", json={"confirm": True},
                            headers=headers)
    assert discarded.status_code == 200, discarded.get_json()
    assert discarded.get_json()["data"]["files"] == 2
    assert not (tree / "junk.txt").exists()
    assert (tree / "README.md").read_text() == "hello\nmore\n"

    merged = client.post(f"/api/tasks/{task.id}/worktree/merge", headers=headers)
    assert merged.status_code == 200, merged.get_json()
    data = merged.get_json()["data"]
    assert data["fast_forward"] is True and data["commit"] == sha
    assert git(ws, "rev-parse", "main").strip() == sha
    assert (ws / "docs" / "guide.md").read_text() == "guide\n"  # main is checked out there
    assert git(ws, "status", "--porcelain") == ""
    assert diff_of(client, headers, task.id)["summary"]["files"] == 0
    actions = history_actions(client, headers, task.id)
    assert [a for a in actions if a.startswith("worktree_")] == [
        "worktree_created", "worktree_commit", "worktree_discard", "worktree_merge"]


def test_a_conflict_is_409_and_changes_nothing_a_clean_merge_makes_a_merge_commit(
        client, auth, dev, git_project, workers, ctx):
    workers(1)
    headers = auth(dev)
    ws = workspace_of(ctx, git_project.id)
    first = shell_task(git_project, dev, "echo 'first version' > README.md", title="first")
    second = shell_task(git_project, dev, "echo 'second version' > README.md", title="second")
    third = shell_task(git_project, dev, "echo extra > extra.txt", title="third")
    for task in (first, second, third):
        assert run(client, headers, task.id)["status"] == "completed"
        commit = client.post(f"/api/tasks/{task.id}/worktree/commit",
                             json={"message": task.title}, headers=headers)
        assert commit.status_code == 200, commit.get_json()
    assert client.post(f"/api/tasks/{first.id}/worktree/merge", headers=headers
                       ).status_code == 200
    main_before = git(ws, "rev-parse", "main").strip()
    second_head = git(ws, "rev-parse", f"task/{second.id.hex[:8]}").strip()

    conflict = client.post(f"/api/tasks/{second.id}/worktree/merge", headers=headers)
    assert conflict.status_code == 409
    error = conflict.get_json()["error"]
    assert error["code"] == "GIT_MERGE_CONFLICT"
    assert error["details"]["conflicts"] == ["README.md"]
    assert "nothing was changed" in error["message"]
    assert git(ws, "rev-parse", "main").strip() == main_before
    assert git(ws, "rev-parse", f"task/{second.id.hex[:8]}").strip() == second_head
    assert git(ws, "status", "--porcelain") == "" and (ws / "README.md").read_text() == (
        "first version\n")
    assert "worktree_merge" not in history_actions(client, headers, second.id)

    clean = client.post(f"/api/tasks/{third.id}/worktree/merge", headers=headers)
    assert clean.status_code == 200, clean.get_json()
    assert clean.get_json()["data"]["fast_forward"] is False
    parents = git(ws, "log", "-1", "--format=%P", "main").split()
    assert parents[0] == main_before and len(parents) == 2
    assert (ws / "extra.txt").read_text() == "extra\n"
    assert (ws / "README.md").read_text() == "first version\n"


def test_actions_wait_for_a_run_in_progress(client, auth, dev, git_project, workers):
    from tests.live import wait_for

    workers(1)
    headers = auth(dev)
    task = shell_task(git_project, dev, "echo x > x.txt; sleep 30")
    ex_id = execute(client, headers, task.id).get_json()["data"]["execution_id"]
    wait_for(lambda: client.get(f"/api/executions/{ex_id}", headers=headers)
             .get_json()["data"]["status"] == "running", 20, message="the run to start")
    busy = client.post(f"/api/tasks/{task.id}/worktree/commit", json={"message": "m"},
                       headers=headers)
    assert busy.status_code == 409
    assert busy.get_json()["error"]["code"] == "TASK_ALREADY_RUNNING"
    assert client.post(f"/api/tasks/{task.id}/cancel", headers=headers).status_code == 200
    wait_final(client, headers, ex_id)
    done = client.post(f"/api/tasks/{task.id}/worktree/commit", json={"message": "m"},
                       headers=headers)
    assert done.status_code == 200, done.get_json()


def test_deleting_a_task_removes_its_worktree_and_keeps_its_branch(client, auth, dev,
                                                                   git_project, workers, ctx):
    from tests.live import wait_for

    workers(1)
    headers = auth(dev)
    ws = workspace_of(ctx, git_project.id)
    kept = shell_task(git_project, dev, "echo kept > kept.txt", title="kept")
    gone = shell_task(git_project, dev, "echo work > work.txt", title="deleted")
    for task in (kept, gone):
        assert run(client, headers, task.id)["status"] == "completed"
    assert client.post(f"/api/tasks/{gone.id}/worktree/commit", json={"message": "the work"},
                       headers=headers).status_code == 200
    (ws / "worktrees" / str(gone.id) / "scratch.txt").write_text("uncommitted\n")
    branch = f"task/{gone.id.hex[:8]}"

    assert client.delete(f"/api/tasks/{gone.id}", headers=headers).status_code == 200
    worktree = ws / "worktrees" / str(gone.id)
    wait_for(lambda: not worktree.exists(), 60, 0.1, "the deleted task's worktree to go")
    listed = git(ws, "worktree", "list", "--porcelain")
    assert str(worktree) not in listed and str(ws / "worktrees" / str(kept.id)) in listed
    assert (ws / "worktrees" / str(kept.id) / "kept.txt").read_text() == "kept\n"
    assert git(ws, "log", "-1", "--format=%s", branch).strip() == "the work"  # work kept
    with ctx.app_context():
        from sqlalchemy import select

        from app.extensions import db
        from app.models.audit import AuditLog

        removed = db.session.scalars(select(AuditLog).where(
            AuditLog.entity_id == gone.id, AuditLog.action == "worktree_removed")).all()
        assert [(r.old_value, r.details["branch"]) for r in removed] == [
            (f"worktrees/{gone.id}", branch)]


def test_a_workspace_without_git_is_a_clear_error(client, auth, dev, workers, ctx):
    workers(1)
    project = factories.project(dev, settings={"git": {"enabled": True}})
    task = shell_task(project, dev, "echo should not run")
    diff = client.get(f"/api/tasks/{task.id}/diff", headers=auth(dev))
    assert diff.status_code == 409
    assert diff.get_json()["error"]["code"] == "GIT_REPOSITORY_UNAVAILABLE"
    assert "not a git repository" in diff.get_json()["error"]["message"]
    done = run(client, auth(dev), task.id)
    assert done["status"] == "failed"
    assert "not a git repository" in done["error"]["message"]
    assert "settings.git.repository_url" in done["error"]["message"]
    assert stdout_text(done) == ""

    cloning = factories.project(dev, settings={"git": {
        "enabled": True, "repository_url": "https://example.invalid/repo.git"}})
    (workspace_of(ctx, cloning.id) / "notes.txt").write_text("in the way\n")
    blocked = shell_task(cloning, dev, "echo should not run")
    refused = client.get(f"/api/tasks/{blocked.id}/diff", headers=auth(dev))
    assert refused.status_code == 409, refused.get_json()
    assert "not empty" in refused.get_json()["error"]["message"]
    failed = run(client, auth(dev), blocked.id)
    assert failed["status"] == "failed"
    assert "is not empty and not a git repository" in failed["error"]["message"]


def test_repository_url_is_cloned_once_into_the_workspace(client, auth, dev, workers, ctx,
                                                          tmp_path):
    workers(1)
    upstream = readable_repo(tmp_path / "upstream", {"lib.py": "VALUE = 1\n"})
    project = factories.project(dev, settings={"git": {
        "enabled": True, "repository_url": f"file://{upstream}"}})
    first = shell_task(project, dev, "cat lib.py; echo 'VALUE = 2' > lib.py")
    early = client.get(f"/api/tasks/{first.id}/diff", headers=auth(dev))
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "WORKTREE_NOT_READY"
    done = run(client, auth(dev), first.id)
    assert done["status"] == "completed", (done["error"], done["output"])
    assert stdout_text(done) == "VALUE = 1\n"
    ws = workspace_of(ctx, project.id)
    cloned = git(ws, "rev-parse", "HEAD").strip()
    assert cloned == git(upstream, "rev-parse", "HEAD").strip()

    (upstream / "lib.py").write_text("VALUE = 3\n")
    git(upstream, "commit", "-qam", "later upstream")
    second = shell_task(project, dev, "cat lib.py")
    assert stdout_text(run(client, auth(dev), second.id)) == "VALUE = 1\n"  # not cloned again
    assert git(ws, "rev-parse", "HEAD").strip() == cloned
    diff = diff_of(client, auth(dev), first.id)
    assert diff["files"], diff
    assert diff["files"][0]["hunks"][0]["lines"] == [
        {"kind": "removed", "old": 1, "new": None, "text": "VALUE = 1"},
        {"kind": "added", "old": None, "new": 1, "text": "VALUE = 2"}]


def test_projects_without_worktrees_run_in_the_workspace(client, auth, dev, project, workers,
                                                         ctx):
    workers(1)
    make_repo(ctx, project.id)
    task = shell_task(project, dev, "pwd")
    done = run(client, auth(dev), task.id)
    assert stdout_text(done).strip() == str(workspace_of(ctx, project.id))
    refused = client.get(f"/api/tasks/{task.id}/diff", headers=auth(dev))
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "GIT_NOT_ENABLED"


def test_a_workspace_with_earlier_claude_transcripts_is_still_cloned_into(client, auth, dev,
                                                                         workers, ctx, tmp_path):
    """Claude runs before git was switched on leave their transcripts in the workspace; the
    clone goes ahead and keeps them."""
    workers(1)
    upstream = readable_repo(tmp_path / "upstream", {"lib.py": "VALUE = 1\n"})
    project = factories.project(dev)
    ws = workspace_of(ctx, project.id)
    (ws / ".claude-config").mkdir(parents=True)
    (ws / ".claude-config" / "session.jsonl").write_text("{}\n")
    resp = client.put(f"/api/projects/{project.id}", headers=auth(dev), json={"settings": {
        "git": {"enabled": True, "repository_url": f"file://{upstream}"}}})
    assert resp.status_code == 200, resp.get_json()
    done = run(client, auth(dev), shell_task(project, dev, "cat lib.py").id)
    assert done["status"] == "completed", (done["error"], done["output"])
    assert stdout_text(done) == "VALUE = 1\n"
    assert (ws / ".claude-config" / "session.jsonl").read_text() == "{}\n"
    assert git(ws, "rev-parse", "HEAD").strip() == git(upstream, "rev-parse", "HEAD").strip()
