"""A git worktree per task, for projects with `settings.git.enabled` (app.services.git_settings).

The project's workspace is the repository: a workspace that already is one is used as it is;
otherwise `settings.git.repository_url` is cloned into it (it must be empty) on the first run
that needs it. Each task gets `<workspace>/worktrees/<task-id>`, a `git worktree` on branch
`task/<first 8 hex digits of the task id>` created from the base branch (tracking it, so the
branch itself remembers its base) on the task's first run; later runs reuse it, and its
directory is what the run job uses as the run's working directory (`run_directory`, the one
call in app/jobs/tasks.py). `worktrees/` is excluded in the repository (`info/exclude`), so the
workspace's own status never shows the task checkouts.

Every git command runs as the space's account (app.services.git_cli). Changes to a project's
repository (clone, worktree creation, commit, discard, merge) are serialized by a Redis lock per
project, so two workers starting the first runs of two tasks, or a merge and a run's set-up,
never interleave.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis
from sqlalchemy import select

from app.errors import AppError
from app.extensions import db, get_redis
from app.models.project import Project
from app.models.task import Task
from app.services import audit, events, git_settings, run_identity, workspace
from app.services.conversation import CONFIG_DIR
from app.services.git_cli import CloneConfig, Git, timeout_of
from app.services.git_settings import GitSettings
from app.services.tasks import task_dict

log = logging.getLogger(__name__)
WORKTREES = "worktrees"
LOCK_WAIT_ACTION = 10.0  # seconds a page or API action waits for another git change


@dataclass
class Space:
    """A project's workspace as a git repository, with the account git runs as there."""

    project_id: uuid.UUID
    root: Path
    git: Git
    settings: GitSettings


def short_id(task_id: uuid.UUID | str) -> str:
    return uuid.UUID(str(task_id)).hex[:8]


def branch_of(task_id: uuid.UUID | str) -> str:
    return f"task/{short_id(task_id)}"


def relative_path(task_id: uuid.UUID | str) -> str:
    """Where the task's worktree is, relative to the workspace (as the API shows it)."""
    return f"{WORKTREES}/{uuid.UUID(str(task_id))}"


def settings_of(project_id: uuid.UUID) -> GitSettings:
    """The project's git settings, read with one small query (runs of projects without
    worktrees pay only this)."""
    stored = db.session.scalar(select(Project.settings).where(Project.id == project_id))
    return git_settings.of(stored)


def space(project_id: uuid.UUID, settings: GitSettings,
          identity: run_identity.RunIdentity | None = None, *, known: bool = False) -> Space:
    """The project's space; `known`: `identity` is already the space's (the run job's), else it
    is looked up (and the workspace made ready for it, as a run would)."""
    base = workspace.create(project_id)
    if not known:
        identity = run_identity.for_space("project", project_id, base, workspace.root())
    git = Git(identity=identity, ceiling=str(workspace.root()))
    return Space(project_id=project_id, root=Path(os.path.realpath(base)), git=git,
                 settings=settings)


def worktree_dir(sp: Space, task_id: uuid.UUID | str) -> Path:
    return sp.root / WORKTREES / str(uuid.UUID(str(task_id)))


# ---------------------------------------------------------------- the repository

def is_repository(sp: Space) -> bool:
    """Whether the workspace itself is the top of a git working tree (not a directory inside
    some repository above it: discovery stops at WORKSPACE_ROOT anyway)."""
    if not (sp.root / ".git").exists():
        return False
    found = sp.git.run(["rev-parse", "--show-toplevel"], sp.root, check=False)
    return found.code == 0 and os.path.realpath(found.text.strip()) == str(sp.root)


def require_repository(sp: Space) -> None:
    """A clear 409 when the workspace is not a repository (for pages and API reads, which
    never clone: that happens on the first run)."""
    if is_repository(sp):
        return
    if sp.settings.repository_url and not any(sp.root.iterdir()):
        raise AppError("WORKTREE_NOT_READY", "The repository is cloned into the project's "
                       "workspace on the first run of a task; nothing has run yet")
    raise AppError("GIT_REPOSITORY_UNAVAILABLE", _no_repository_message(sp))


def _no_repository_message(sp: Space) -> str:
    if sp.settings.repository_url:
        return (f"Cannot clone {sp.settings.repository_url} into the project's workspace: it "
                "is not empty and not a git repository; empty it first")
    return ("Git worktrees are on for this project, but its workspace is not a git "
            "repository: set settings.git.repository_url to clone one, or make the workspace a "
            "repository (run `git init` and commit in it)")


def ensure_repository(sp: Space) -> None:
    """The workspace as a repository: as it is, or cloned from `repository_url` when empty."""
    if is_repository(sp):
        return
    url = sp.settings.repository_url
    if not url:
        raise AppError("GIT_REPOSITORY_UNAVAILABLE", _no_repository_message(sp))
    ours = sp.root / CONFIG_DIR  # Claude transcripts of earlier runs: kept, not in the way
    if any(entry.name != CONFIG_DIR for entry in sp.root.iterdir()):
        raise AppError("GIT_REPOSITORY_UNAVAILABLE", _no_repository_message(sp))
    aside = sp.root.parent / f".{sp.root.name}{CONFIG_DIR}.cloning"
    if ours.exists():
        os.rename(ours, aside)  # git clones only into an empty directory
    try:
        with CloneConfig() as config:
            sp.git.run(["clone", "--no-recurse-submodules", "--", url, "."], sp.root,
                       timeout=timeout_of("GIT_CLONE_TIMEOUT"),
                       env={"GIT_CONFIG_GLOBAL": config}, what=f"Cloning {url}")
    finally:
        if aside.exists():
            os.rename(aside, ours)


def base_branch(sp: Space) -> str:
    """settings.git.base_branch, else the branch the workspace has checked out."""
    if sp.settings.base_branch:
        return sp.settings.base_branch
    found = sp.git.run(["symbolic-ref", "--quiet", "--short", "HEAD"], sp.root, check=False)
    if found.code != 0 or not found.text.strip():
        raise AppError("GIT_REPOSITORY_UNAVAILABLE", "The workspace's repository has no branch "
                       "checked out (detached HEAD): set settings.git.base_branch")
    return found.text.strip()


def _ensure_local_branch(sp: Space, name: str) -> None:
    """The base as a local branch (a clone has only the default one locally)."""
    if _has_ref(sp, f"refs/heads/{name}"):
        return
    if _has_ref(sp, f"refs/remotes/origin/{name}"):
        sp.git.run(["branch", "--track", "--", name, f"origin/{name}"], sp.root)
        return
    raise AppError("GIT_REPOSITORY_UNAVAILABLE", f"The base branch '{name}' does not exist in "
                   "the project's repository (or has no commit yet)")


def _has_ref(sp: Space, ref: str, cwd: Path | None = None) -> bool:
    return sp.git.run(["rev-parse", "--verify", "--quiet", ref + "^{commit}"], cwd or sp.root,
                      check=False).code == 0


def worktree_exists(sp: Space, task_id: uuid.UUID | str) -> bool:
    path = worktree_dir(sp, task_id)
    if not (path / ".git").is_file():
        return False
    top = sp.git.run(["rev-parse", "--show-toplevel"], path, check=False)
    return top.code == 0 and os.path.realpath(top.text.strip()) == str(path)


def ensure_worktree(sp: Space, task_id: uuid.UUID | str) -> tuple[Path, dict | None]:
    """The task's worktree, made on first use: (path, what was created or None)."""
    path = worktree_dir(sp, task_id)
    if worktree_exists(sp, task_id):
        return path, None
    branch = branch_of(task_id)
    sp.git.run(["worktree", "prune"], sp.root)  # forget checkouts whose directory is gone
    if _has_ref(sp, f"refs/heads/{branch}"):
        sp.git.run(["worktree", "add", "--", str(path), branch], sp.root)
        created = {"branch": branch, "reused_branch": True}
    else:
        base = base_branch(sp)
        _ensure_local_branch(sp, base)
        sp.git.run(["worktree", "add", "--track", "-b", branch, "--", str(path), base], sp.root)
        created = {"branch": branch, "base_branch": base}
    _exclude_worktrees(sp)
    head = sp.git.run(["rev-parse", "HEAD"], path).text.strip()
    return path, {**created, "path": relative_path(task_id), "head": head}


def _exclude_worktrees(sp: Space) -> None:
    """`/worktrees/` in the repository's info/exclude, written as the space's account (never
    by the server into a directory a run controls)."""
    probe = f"{WORKTREES}/x"
    if sp.git.run(["check-ignore", "-q", "--", probe], sp.root, check=False).code == 0:
        return
    target = sp.git.run(["rev-parse", "--git-path", "info/exclude"], sp.root).text.strip()
    target_path = sp.root / target
    sp.git.tool(["mkdir", "-p", "--", str(target_path.parent)], sp.root)
    sp.git.tool(["tee", "-a", "--", str(target_path)], sp.root,
                stdin=f"\n/{WORKTREES}/\n".encode())


@contextmanager
def locked(project_id: uuid.UUID, wait: float, hold: float) -> Iterator[None]:
    """The project's git lock: at most one change to its repository at a time."""
    try:
        lock = get_redis().lock(f"git-lock:{project_id}", timeout=hold, blocking_timeout=wait)
        acquired = lock.acquire()
    except redis.RedisError:
        raise AppError("SYSTEM_OVERLOADED", "Redis is unavailable: the project's repository "
                       "cannot be changed safely right now") from None
    if not acquired:
        raise AppError("WORKTREE_BUSY", "Another git operation on this project's repository is "
                       "in progress (a clone, a run being set up, a commit or a merge); try "
                       "again in a moment")
    try:
        yield
    finally:
        try:
            lock.release()
        except redis.RedisError:
            log.warning("git lock of project %s not released (it expires)", project_id)


# ---------------------------------------------------------------- runs

def run_directory(project_id: uuid.UUID, task_id: uuid.UUID, relative: str | None, cwd: str,
                  identity: run_identity.RunIdentity | None) -> str:
    """The directory a run of the task works in: `cwd` (already prepared by
    run_identity.prepare_run) unless the project uses worktrees; then the task's worktree,
    made on its first run, with the task's working directory inside it. An AppError (the run
    then fails to start with its message) when git or the repository is not usable."""
    settings = settings_of(project_id)
    if not settings.enabled:
        return cwd
    sp = space(project_id, settings, identity, known=True)
    hold = timeout_of("GIT_CLONE_TIMEOUT") + 60
    with locked(project_id, wait=hold, hold=hold):
        ensure_repository(sp)
        path, created = ensure_worktree(sp, task_id)
    if created:
        _record_created(project_id, task_id, created)
    return str(_inside(path, relative))


def _inside(path: Path, relative: str | None) -> Path:
    """The task's working directory inside its worktree (checked like workspace paths)."""
    if not relative or relative.strip() in ("", "."):
        return path
    candidate = Path(os.path.realpath(path / relative))
    if candidate != path and path not in candidate.parents:
        raise AppError("VALIDATION_ERROR", f"working_directory {relative!r} resolves outside "
                       "the task's worktree")
    return candidate


def _record_created(project_id: uuid.UUID, task_id: uuid.UUID, created: dict) -> None:
    """History: the worktree a run made (the run's own events follow)."""
    task = db.session.get(Task, task_id)
    if task is not None:
        record(task, "created", None, field="worktree", old=None, new=created["branch"],
               details=created)
        db.session.commit()


def record(task: Task, action: str, user_id: uuid.UUID | None, *, field: str, old: object,
           new: object, details: dict) -> None:
    """One worktree change in the task's history (`worktree_<action>`), and published as the
    task's `task.updated` with `changes: ["worktree"]` and what happened in `worktree` (pages,
    sockets and webhooks get it like any task change). The caller commits."""
    audit.record("task", task.id, f"worktree_{action}", user_id=user_id, field=field,
                 old=old, new=new, details=details, project_id=task.project_id)
    events.emit("task.updated", {**task_dict(task), "changes": ["worktree"],
                                 "worktree": {"action": action, **details}},
                project_id=task.project_id, task_id=task.id, user_id=user_id)
