"""Worktree jobs (queue `low`): remove a deleted task's worktree (app.services.worktree_cleanup)."""

from __future__ import annotations

import uuid

from app.services import worktree_cleanup


def remove(project_id: str, task_id: str) -> str:
    return worktree_cleanup.remove(uuid.UUID(project_id), uuid.UUID(task_id))
