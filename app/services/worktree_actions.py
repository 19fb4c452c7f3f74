"""What members do with a task's worktree: read its diff, commit, discard, merge into base.

One service for the API (`/api/tasks/{id}/diff`, `/worktree/commit|discard|merge`) and the task
page. Reading needs `read` on the project; the three changes need `write` (they change the
project's files and branches, like editing does; the route decorators check the role), refuse
an archived project, and are refused (409 TASK_ALREADY_RUNNING) while a run of the task is
queued or running — the run owns the worktree then. Each change holds the project's git lock,
is written to the task's history and published as `task.updated` (app.services.worktrees.record).

Merge into base: fast-forward when the base has not moved, else a merge commit. A conflict is
found before anything is written (`git merge-tree --write-tree`), so it answers 409
GIT_MERGE_CONFLICT naming the files and changes nothing. Where the base branch is checked out
(usually the workspace itself) the merge runs there so its files follow; else only the branch
moves (compare-and-swap on its old commit).
"""

from __future__ import annotations

import uuid
from typing import Any

from app.errors import AppError, ValidationFailed
from app.extensions import db
from app.models.project import Project
from app.models.task import Task
from app.models.user import User
from app.services import git_diff, git_settings, worktrees
from app.services.access import get_task
from app.services.git_cli import Result, message_of
from app.services.tasks import has_live_execution
from app.services.worktrees import Space

MESSAGE_MAX = 5000


def _space_for(task: Task) -> Space:
    project = db.session.get(Project, task.project_id)
    settings = git_settings.of(project.settings if project else None)
    if not settings.enabled:
        raise AppError("GIT_NOT_ENABLED", "Git worktrees are not enabled for this project "
                       "(settings.git.enabled)")
    return worktrees.space(task.project_id, settings)


def _base_of(sp: Space, task_id: uuid.UUID) -> str:
    """The branch the task's branch was made from (its upstream), else the project's base."""
    found = sp.git.run(["rev-parse", "--abbrev-ref", "--symbolic-full-name",
                        f"{worktrees.branch_of(task_id)}@{{upstream}}"], sp.root, check=False)
    name = found.text.strip()
    if found.code == 0 and name and not name.startswith("origin/"):
        return name
    return worktrees.base_branch(sp)


# ---------------------------------------------------------------- reading

def diff(task_id: uuid.UUID, user: User, page: int = 1,
         page_size: int = git_diff.DEFAULT_PAGE_SIZE) -> dict[str, Any]:
    """The task's changes against its base (see app.services.git_diff), one page of files."""
    task = get_task(task_id, user)
    sp = _space_for(task)
    worktrees.require_repository(sp)
    out: dict[str, Any] = {"task_id": str(task.id), "branch": worktrees.branch_of(task.id),
                           "path": worktrees.relative_path(task.id), "exists": False,
                           "base_branch": None, "head": None, "base_commit": None, "ahead": 0,
                           "behind": 0, "uncommitted": 0,
                           "summary": {"files": 0, "additions": 0, "deletions": 0},
                           "page": page, "page_size": page_size, "pages": 0, "has_next": False,
                           "has_previous": page > 1, "files": [], "notes": []}
    if not worktrees.worktree_exists(sp, task.id):
        out["notes"].append("The task's worktree is made on its first run.")
        return out
    base = _base_of(sp, task.id)
    path = worktrees.worktree_dir(sp, task.id)
    snap = git_diff.Snapshot(sp.git, path)
    try:
        head = snap.run(["rev-parse", "HEAD"]).text.strip()
        found = snap.run(["merge-base", base, "HEAD"], check=False)
        since = found.text.strip() if found.code == 0 else base
        counts = snap.run(["rev-list", "--left-right", "--count", f"{base}...HEAD"]).text.split()
        dirty = snap.run(["diff", "--cached", "--name-only", "-z", "HEAD", "--"]).out
        files, over = git_diff.changed_files(snap, since)
        pages = git_diff.pages_of(files, page_size)
        shown = pages[page - 1] if page <= len(pages) else []
        notes = git_diff.fill_hunks(snap, since, shown)
    finally:
        snap.close()
    if over:
        notes.insert(0, f"Over {git_diff.MAX_FILES:,} files changed: only the first "
                        f"{git_diff.MAX_FILES:,} are listed.")
    notes += [f"{f['path']}: {f['additions'] + f['deletions']:,} changed lines, over "
              f"{git_diff.FILE_LINES:,}: not shown" for f in shown if f["too_large"]]
    out.update(exists=True, base_branch=base, head=head, base_commit=since,
               behind=int(counts[0]), ahead=int(counts[1]),
               uncommitted=len([p for p in dirty.split(b"\0") if p]),
               summary={"files": len(files), "additions": sum(f["additions"] for f in files),
                        "deletions": sum(f["deletions"] for f in files)},
               pages=len(pages), has_next=page < len(pages), files=[git_diff.public(f)
                                                                    for f in shown],
               notes=out["notes"] + notes)
    return out


# ---------------------------------------------------------------- changes

def _prepare(task_id: uuid.UUID, user: User) -> tuple[Task, Space]:
    task = get_task(task_id, user, write=True)
    sp = _space_for(task)
    worktrees.require_repository(sp)
    if not worktrees.worktree_exists(sp, task.id):
        raise AppError("WORKTREE_NOT_READY", "The task has no worktree yet: it is made on the "
                       "task's first run")
    return task, sp


def _idle(task: Task) -> None:
    """Inside the lock: a run that is queued or running owns the worktree."""
    if has_live_execution(task.id):
        raise AppError("TASK_ALREADY_RUNNING", "A run of this task is queued or running in its "
                       "worktree; wait for it to end or cancel it first", {"status": task.status})


def _changes(sp: Space, task_id: uuid.UUID) -> list[str]:
    """Uncommitted changes in the worktree (untracked files included), as git names them."""
    out = sp.git.run(["status", "--porcelain=v1", "-z", "--untracked-files=all"],
                     worktrees.worktree_dir(sp, task_id)).out
    records, found = out.split(b"\0"), []
    i = 0
    while i < len(records):
        record = records[i]
        i += 1
        if len(record) > 3:
            found.append(git_diff.text(record[3:]))
            if record[:1] in (b"R", b"C") or record[1:2] in (b"R", b"C"):
                i += 1  # the rename's source path follows as its own record
    return found


def _author(user: User) -> dict[str, str]:
    name = "".join(c for c in user.display_name if c not in "<>\n\r\0").strip() or user.username
    email = user.email or f"{user.username}@users.noreply.invalid"
    return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}


def _finish(task: Task, action: str, user: User, *, field: str, old: Any, new: Any,
            details: dict[str, Any]) -> dict[str, Any]:
    worktrees.record(task, action, user.id, field=field, old=old, new=new, details=details)
    db.session.commit()
    return {"task_id": str(task.id), "action": action, **details}


def commit(task_id: uuid.UUID, user: User, message: Any) -> dict[str, Any]:
    """Commit everything in the worktree on the task's branch, authored by `user`."""
    if not isinstance(message, str) or not message.strip():
        raise ValidationFailed("message", "a commit message is required",
                               code="VALIDATION_REQUIRED_FIELD")
    if len(message) > MESSAGE_MAX or "\0" in message:
        raise ValidationFailed("message", f"at most {MESSAGE_MAX} characters, no NUL",
                               code="VALIDATION_VALUE_TOO_LONG" if len(message) > MESSAGE_MAX
                               else "VALIDATION_INVALID_FORMAT")
    task, sp = _prepare(task_id, user)
    path = worktrees.worktree_dir(sp, task.id)
    with worktrees.locked(task.project_id, worktrees.LOCK_WAIT_ACTION, 120):
        _idle(task)
        files = _changes(sp, task.id)
        if not files:
            raise AppError("GIT_NOTHING_TO_DO", "Nothing to commit: the worktree has no changes")
        before = sp.git.run(["rev-parse", "HEAD"], path).text.strip()
        sp.git.run(["add", "-A"], path)
        sp.git.run(["commit", "--no-verify", "--quiet", f"--message={message.strip()}"], path,
                   env=_author(user), what="git commit")
        after = sp.git.run(["rev-parse", "HEAD"], path).text.strip()
    branch = worktrees.branch_of(task.id)
    return _finish(task, "commit", user, field=branch, old=before[:12], new=after[:12],
                   details={"branch": branch, "commit": after, "parent": before,
                            "message": message.strip(), "files": len(files)})


def discard(task_id: uuid.UUID, user: User, confirm: Any) -> dict[str, Any]:
    """Throw away the uncommitted changes (untracked files too): back to the branch head."""
    if confirm is not True:
        raise ValidationFailed("confirm", "discarding cannot be undone: send confirm: true")
    task, sp = _prepare(task_id, user)
    path = worktrees.worktree_dir(sp, task.id)
    with worktrees.locked(task.project_id, worktrees.LOCK_WAIT_ACTION, 120):
        _idle(task)
        files = _changes(sp, task.id)
        if not files:
            raise AppError("GIT_NOTHING_TO_DO", "Nothing to discard: the worktree has no changes")
        sp.git.run(["reset", "--hard", "--quiet", "HEAD"], path)
        sp.git.run(["clean", "-d", "--force", "--quiet"], path)
        head = sp.git.run(["rev-parse", "HEAD"], path).text.strip()
    branch = worktrees.branch_of(task.id)
    return _finish(task, "discard", user, field=branch, old=f"{len(files)} changed files",
                   new=head[:12], details={"branch": branch, "head": head,
                                           "files": len(files), "discarded": files[:100]})


def merge(task_id: uuid.UUID, user: User) -> dict[str, Any]:
    """Merge the task's branch into its base (see the module docstring)."""
    task, sp = _prepare(task_id, user)
    branch = worktrees.branch_of(task.id)
    with worktrees.locked(task.project_id, worktrees.LOCK_WAIT_ACTION, 300):
        _idle(task)
        if _changes(sp, task.id):
            raise AppError("GIT_UNCOMMITTED_CHANGES", "The worktree has uncommitted changes: "
                           "commit or discard them first (a merge takes committed work only)")
        base = _base_of(sp, task.id)
        head = _rev(sp, f"refs/heads/{branch}")
        before = _rev(sp, f"refs/heads/{base}")
        if _git_ok(sp, ["merge-base", "--is-ancestor", head, before]):
            raise AppError("GIT_NOTHING_TO_DO", f"{branch} has nothing that {base} lacks")
        fast = _git_ok(sp, ["merge-base", "--is-ancestor", before, head])
        if not fast:
            _check_conflicts(sp, before, head, base, branch)
        message = f"Merge {branch} into {base}: {task.title}"
        where = _checked_out_at(sp, base)
        if where is not None:
            _merge_in(sp, where, branch, base, message, user)
        elif fast:
            sp.git.run(["update-ref", "-m", message, f"refs/heads/{base}", head, before],
                       sp.root)
        else:
            tree = sp.git.run(["merge-tree", "--write-tree", before, head], sp.root)
            made = sp.git.run(["commit-tree", tree.text.split()[0], "-p", before, "-p", head,
                               f"-m{message}"], sp.root, env=_author(user)).text.strip()
            sp.git.run(["update-ref", "-m", message, f"refs/heads/{base}", made, before],
                       sp.root)
        after = _rev(sp, f"refs/heads/{base}")
    return _finish(task, "merge", user, field=base, old=before[:12], new=after[:12],
                   details={"branch": branch, "base_branch": base, "fast_forward": fast,
                            "commit": after, "base_before": before})


def _rev(sp: Space, ref: str) -> str:
    return sp.git.run(["rev-parse", "--verify", f"{ref}^{{commit}}"], sp.root).text.strip()


def _git_ok(sp: Space, args: list[str]) -> bool:
    return sp.git.run(args, sp.root, check=False).code == 0


def _check_conflicts(sp: Space, before: str, head: str, base: str, branch: str) -> None:
    """409 with the conflicting files when the two sides cannot merge cleanly."""
    found = sp.git.run(["merge-tree", "--write-tree", "--name-only", "--no-messages", before,
                        head], sp.root, check=False)
    if found.code == 1:
        files = [line for line in found.text.splitlines()[1:] if line.strip()]
        raise AppError("GIT_MERGE_CONFLICT", f"{branch} conflicts with {base} in "
                       f"{len(files)} file(s): {', '.join(files[:10])}; nothing was changed. "
                       f"Bring {base} into the task (e.g. a follow-up run that merges it) and "
                       "try again", {"conflicts": files, "base_branch": base, "branch": branch})
    if found.code != 0:
        raise AppError("GIT_OPERATION_FAILED", f"git merge-tree failed: {message_of(found)}")


def _checked_out_at(sp: Space, base: str) -> str | None:
    """The working tree that has `base` checked out, if any."""
    listing = sp.git.run(["worktree", "list", "--porcelain", "-z"], sp.root).out
    current: str | None = None
    for item in listing.split(b"\0"):
        if item.startswith(b"worktree "):
            current = item[9:].decode("utf-8", "surrogateescape")
        elif item == f"branch refs/heads/{base}".encode() and current is not None:
            return current
    return None


def _merge_in(sp: Space, where: str, branch: str, base: str, message: str,
              user: User) -> None:
    """`git merge` where the base is checked out; undone if git stops half-way."""
    result: Result = sp.git.run(["merge", "--no-edit", "--no-verify", f"--message={message}",
                                 "--", branch], where, env=_author(user), check=False)
    if result.code == 0:
        return
    aborted = sp.git.run(["merge", "--abort"], where, check=False)
    detail = message_of(result)
    if "overwritten" in detail or "local changes" in detail:
        raise AppError("GIT_UNCOMMITTED_CHANGES", f"{base} is checked out in the workspace, "
                       f"whose uncommitted changes the merge would overwrite: {detail}")
    raise AppError("GIT_MERGE_CONFLICT" if aborted.code == 0 else "GIT_OPERATION_FAILED",
                   f"git merge of {branch} into {base} failed: {detail}")
