"""The diff API on real repositories: what each kind of change looks like, and how big diffs are
cut (files summarized, lines cut, pages by files and by lines), each cut said in `notes`.

The worktree is made by the same function a run job calls (worktrees.run_directory); files are
then written as the space's account would."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import factories
from tests.worktrees.conftest import git, make_repo, workspace_of


@pytest.fixture
def tree(ctx, dev):
    """(task, worktree path, uid) of a task whose worktree was made as a first run makes it."""
    project = factories.project(dev, settings={"git": {"enabled": True}})
    make_repo(ctx, project.id, {"keep.txt": "".join(f"line {i}\n" for i in range(1, 21)),
                                "old_name.txt": "same content\n" * 5,
                                "gone.txt": "bye\n", "script.sh": "echo hi\n",
                                "logo.bin": "GIF89a\x00\x01"})
    task = factories.task(project, dev, executor="shell", command="true")
    from app.services import run_identity, worktrees

    cwd, identity = run_identity.prepare_run(project.id, None, None)
    path = Path(worktrees.run_directory(project.id, task.id, None, cwd, identity))
    return task, path, identity.uid if identity else None


def write(path: Path, content: str | bytes, uid: int | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    if uid is not None:
        os.chown(path, uid, uid)
        os.chown(path.parent, uid, uid)


def diff(client, auth, user, task, **query) -> dict:
    resp = client.get(f"/api/tasks/{task.id}/diff", query_string=query, headers=auth(user))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["data"]


def test_each_kind_of_change(client, auth, dev, tree):
    task, path, uid = tree
    lines = [f"line {i}\n" for i in range(1, 21)]
    lines[9] = "line ten, changed\n"
    write(path / "keep.txt", "".join(lines), uid)
    os.rename(path / "old_name.txt", path / "new name ü.txt")
    (path / "gone.txt").unlink()
    os.chmod(path / "script.sh", 0o755)
    write(path / "logo.bin", b"GIF89a\x00\x02\xff", uid)
    write(path / "no_newline.txt", "tail", uid)
    write(path / "wide.txt", "x" * 5000 + "\n", uid)
    data = diff(client, auth, dev, task)
    files = {f["path"]: f for f in data["files"]}
    assert set(files) == {"keep.txt", "new name ü.txt", "gone.txt", "script.sh", "logo.bin",
                          "no_newline.txt", "wide.txt"}
    hunk = files["keep.txt"]["hunks"][0]
    assert (hunk["old_start"], hunk["new_start"]) == (7, 7)
    changed = [line for line in hunk["lines"] if line["kind"] != "context"]
    assert changed == [{"kind": "removed", "old": 10, "new": None, "text": "line 10"},
                       {"kind": "added", "old": None, "new": 10, "text": "line ten, changed"}]
    assert [line["new"] for line in hunk["lines"] if line["kind"] == "context"] == [
        7, 8, 9, 11, 12, 13]
    renamed = files["new name ü.txt"]
    assert (renamed["status"], renamed["old_path"]) == ("renamed", "old_name.txt")
    assert files["gone.txt"]["status"] == "deleted" and files["gone.txt"]["deletions"] == 1
    assert (files["script.sh"]["old_mode"], files["script.sh"]["new_mode"]) == (
        "100644", "100755")
    assert files["logo.bin"]["binary"] and files["logo.bin"]["hunks"] is None
    tail = files["no_newline.txt"]["hunks"][0]["lines"]
    assert tail[-1] == {"kind": "note", "old": None, "new": None,
                        "text": "No newline at end of file"}
    wide = files["wide.txt"]["hunks"][0]["lines"][0]["text"]
    assert len(wide) < 2100 and wide.endswith("…")
    assert any("wide.txt" in note and "cut" in note for note in data["notes"])
    assert data["summary"]["files"] == 7


def test_huge_files_are_summarized_and_pages_split_big_diffs(client, auth, dev, tree,
                                                             monkeypatch):
    from app.services import git_diff

    task, path, uid = tree
    write(path / "huge.txt", "".join(f"{i}\n" for i in range(git_diff.FILE_LINES + 1)), uid)
    for n in range(5):
        write(path / f"many/file{n}.txt", "a\nb\n", uid)
    data = diff(client, auth, dev, task, page_size=2)
    assert data["summary"] == {"files": 6, "additions": git_diff.FILE_LINES + 1 + 10,
                               "deletions": 0}
    assert (data["pages"], data["has_next"]) == (3, True)
    assert [f["path"] for f in data["files"]] == ["huge.txt", "many/file0.txt"]
    huge = data["files"][0]
    assert huge["too_large"] and huge["hunks"] is None
    assert huge["additions"] == git_diff.FILE_LINES + 1
    assert any("huge.txt" in note and "not shown" in note for note in data["notes"])
    last = diff(client, auth, dev, task, page_size=2, page=3)
    assert [f["path"] for f in last["files"]] == ["many/file3.txt", "many/file4.txt"]
    assert last["files"][1]["hunks"][0]["lines"][1] == {"kind": "added", "old": None,
                                                        "new": 2, "text": "b"}
    assert diff(client, auth, dev, task, page_size=2, page=4)["files"] == []

    monkeypatch.setattr(git_diff, "PAGE_LINES", 5)  # a page also stops at its line budget
    by_lines = diff(client, auth, dev, task, page_size=100)
    assert by_lines["pages"] == 3  # huge (counted 0: not shown), 0+1 (4 lines), 2+3, 4 ...
    assert [f["path"] for f in by_lines["files"]] == ["huge.txt", "many/file0.txt",
                                                      "many/file1.txt"]


def test_page_and_api_escape_file_content(client, auth, dev, tree, page_client):
    task, path, uid = tree
    write(path / "evil.html", '<script>alert("x")</script>\n<img src=x onerror=alert(1)>\n',
          uid)
    write(path / "<b>name</b>.txt", "x\n", uid)
    data = diff(client, auth, dev, task)
    texts = [line["text"] for f in data["files"] for h in f["hunks"] for line in h["lines"]]
    assert '<script>alert("x")</script>' in texts
    panel = page_client(dev).hx_get(f"/tasks/{task.id}/worktree").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in panel
    assert "&lt;img src=x onerror=alert(1)&gt;" in panel
    assert "&lt;b&gt;name&lt;/b&gt;.txt" in panel
    assert "<script>alert" not in panel and "<b>name</b>" not in panel


def test_nothing_changed_and_no_run_yet(client, auth, dev, tree, ctx, viewer):
    task, path, _uid = tree
    data = diff(client, auth, dev, task)
    assert data["exists"] and data["files"] == [] and data["summary"]["files"] == 0
    assert (data["ahead"], data["behind"], data["uncommitted"]) == (0, 0, 0)
    other = factories.task(factories.project(dev, settings={"git": {"enabled": True}}), dev,
                           executor="shell", command="true")
    make_repo(ctx, other.project_id)
    fresh = diff(client, auth, dev, other)
    assert fresh["exists"] is False and "first run" in fresh["notes"][0]
    ws = workspace_of(ctx, other.project_id)
    assert not (ws / "worktrees").exists()  # reading never makes a worktree
    stranger = client.get(f"/api/tasks/{task.id}/diff", headers=auth(viewer))
    assert stranger.status_code == 403
    assert git(path, "status", "--porcelain") == ""  # the diff left the worktree as it was


def test_hunks_stay_with_their_files(client, auth, dev, tree, monkeypatch):
    """One `git diff` per page, its sections matched to the listed files by their names (names
    with spaces included); should they not match, each file is read on its own."""
    from app.services import git_diff

    task, path, uid = tree
    write(path / "a b.txt", "spaced name\n", uid)
    write(path / "keep.txt", "all new\n", uid)
    per_file = []
    real_one = git_diff._one
    monkeypatch.setattr(git_diff, "_one", lambda *args: per_file.append(1) or real_one(*args))
    together = diff(client, auth, dev, task)
    assert per_file == []
    assert together["files"][0]["path"] == "a b.txt"
    assert together["files"][0]["hunks"][0]["lines"][0]["text"] == "spaced name"
    monkeypatch.setattr(git_diff, "_matches", lambda section, f: False)
    apart = diff(client, auth, dev, task)
    assert len(per_file) == 2
    assert apart["files"] == together["files"]
