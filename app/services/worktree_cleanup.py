"""A deleted task's worktree is removed from the project's repository; its branch is kept.

Tasks are deleted softly (kept for the audit trail) and are never restored, so their checkouts
would stay in `<workspace>/worktrees/` as dead weight. Removing one is a git change of the
project's repository: it runs in a worker (queue `low`) after the deletion commits, as the
space's account and under the project's git lock (which may wait for a run being set up or a
merge), so the request that deleted the task never waits for git. The branch `task/<short-id>`
stays: committed work is never lost (`git branch -D` removes it by hand); uncommitted changes in
the worktree go with the task, as the user who deleted it asked. The removal is in the task's
history (`worktree_removed`).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import redis
from rq import Queue, Retry

from app.extensions import db, get_redis
from app.models.project import Project
from app.models.task import Task
from app.services import audit, workspace, worktrees

log = logging.getLogger(__name__)
QUEUE = "low"
LOCK_WAIT = 60.0  # seconds the job waits for another git change of the project
RETRY = Retry(max=3, interval=[10, 60, 300])  # a lock held too long, git or the database failing


def sink(event: dict[str, Any]) -> None:
    """Event sink: a deleted task that has a worktree directory gets a removal job. Only a stat
    here (no database, no git): most projects have no worktrees."""
    if event.get("event") != "task.deleted":
        return
    scope = event.get("scope") or {}
    project_id, task_id = scope.get("project_id"), scope.get("task_id")
    if not project_id or not task_id:
        return
    if not (workspace.project_dir(project_id) / worktrees.WORKTREES / task_id).exists():
        return
    try:
        Queue(QUEUE, connection=get_redis()).enqueue(
            "app.jobs.worktrees.remove", project_id, task_id, job_timeout=300, result_ttl=0,
            retry=RETRY, description=f"remove the worktree of deleted task {task_id}")
    except (redis.RedisError, OSError):
        log.warning("worktree of deleted task %s kept: Redis unavailable", task_id)


def remove(project_id: uuid.UUID, task_id: uuid.UUID) -> str:
    """Remove the deleted task's worktree (see the module docstring); what was done, in a word."""
    task = db.session.get(Task, task_id)
    project = db.session.get(Project, project_id)
    if task is None or task.deleted_at is None or task.project_id != project_id:
        return "not deleted"
    if project is None or project.deleted_at is not None:
        return "project gone"
    if not (workspace.project_dir(project_id) / worktrees.WORKTREES / str(task_id)).exists():
        return "no worktree"
    sp = worktrees.space(project_id, worktrees.settings_of(project_id))
    with worktrees.locked(project_id, LOCK_WAIT, 300):
        if not worktrees.worktree_exists(sp, task_id):
            return "not a worktree"  # a directory somebody else made: not ours to delete
        path = worktrees.worktree_dir(sp, task_id)
        sp.git.run(["worktree", "remove", "--force", "--", str(path)], sp.root,
                   what="git worktree remove")
    branch = worktrees.branch_of(task_id)
    audit.record("task", task.id, "worktree_removed", user_id=None, field="worktree",
                 old=worktrees.relative_path(task_id), new=None, project_id=project_id,
                 details={"branch": branch, "branch_kept": True, "reason": "task deleted"})
    db.session.commit()
    return "removed"
