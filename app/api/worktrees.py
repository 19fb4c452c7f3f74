"""`/api/tasks/{id}/diff` and `/api/tasks/{id}/worktree/commit|discard|merge` (settings.git).

Routes only parse and delegate to `app.services.worktree_actions`, which the task page uses too.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from app.api.common import blueprint, endpoint
from app.api.schemas import MAX_PAGE, NON_BLANK
from app.api.validation import Body, Path, Query
from app.errors import envelope
from app.security import current_user
from app.services import git_diff, worktree_actions

bp = blueprint("api_worktrees", "/api", "Worktrees",
               "A task's git worktree (projects with settings.git.enabled): its diff against "
               "the base branch, commit, discard and merge into base")


class WorktreePath(Path):
    task_id: uuid.UUID


class DiffQuery(Query):
    page: int = Field(1, ge=1, le=MAX_PAGE, description="Page of changed files, from 1")
    page_size: int = Field(git_diff.DEFAULT_PAGE_SIZE, ge=1, le=git_diff.MAX_PAGE_SIZE,
                           description="Files per page (a page also stops at "
                                       f"{git_diff.PAGE_LINES:,} changed lines)")


class CommitBody(Body):
    message: str = Field(..., min_length=1, max_length=worktree_actions.MESSAGE_MAX,
                         json_schema_extra={"pattern": NON_BLANK},
                         description="The commit message; the author is the caller")


class DiscardBody(Body):
    confirm: bool = Field(False, description="Must be true: discarding cannot be undone")


class MergeBody(Body):
    """No fields: the body may be empty or absent."""

    @model_validator(mode="before")
    @classmethod
    def _empty(cls, data: Any) -> Any:
        return {} if data is None else data


class DiffLine(BaseModel):
    kind: Literal["context", "added", "removed", "note"]
    old: int | None = Field(description="Line number in the base (None for added lines)")
    new: int | None = Field(description="Line number in the task (None for removed lines)")
    text: str


class DiffHunk(BaseModel):
    header: str
    old_start: int
    old_lines: int
    new_start: int
    new_lines: int
    lines: list[DiffLine]


class DiffFile(BaseModel):
    path: str
    old_path: str | None = Field(description="For renames and copies")
    status: str = Field(description="added, modified, deleted, renamed, copied, type_changed")
    additions: int
    deletions: int
    binary: bool
    too_large: bool = Field(description=f"Over {git_diff.FILE_LINES:,} changed lines: counts "
                                        "only, no hunks")
    old_mode: str | None
    new_mode: str | None
    hunks: list[DiffHunk] | None = Field(description="None for binary and too large files")


class DiffSummary(BaseModel):
    files: int
    additions: int
    deletions: int


class DiffData(BaseModel):
    task_id: str
    branch: str = Field(examples=["task/3f2a9c1e"])
    path: str = Field(description="The worktree, relative to the project's workspace")
    exists: bool = Field(description="False until the task's first run makes the worktree")
    base_branch: str | None
    head: str | None = Field(description="The task branch's commit")
    base_commit: str | None = Field(description="Where the branch left the base (merge base)")
    ahead: int = Field(description="Commits on the task's branch that the base lacks")
    behind: int = Field(description="Commits on the base that the task's branch lacks")
    uncommitted: int = Field(description="Files changed in the worktree but not committed")
    summary: DiffSummary
    page: int
    page_size: int
    pages: int
    has_next: bool
    has_previous: bool
    files: list[DiffFile]
    notes: list[str] = Field(description="What was cut or left out, in words")


class WorktreeChange(BaseModel):
    task_id: str
    action: Literal["commit", "discard", "merge"]
    branch: str
    commit: str | None = None
    message: str | None = None
    files: int | None = None
    head: str | None = None
    base_branch: str | None = None
    fast_forward: bool | None = None
    parent: str | None = Field(None, description="commit: the branch head before")
    base_before: str | None = Field(None, description="merge: the base's commit before")
    discarded: list[str] | None = Field(None, description="discard: the files (first 100)")


@endpoint(bp, "get", "/tasks/<uuid:task_id>/diff", auth="read", summary="Get task diff",
          data=DiffData, errors=[403, 404, 409])
def get_diff(path: WorktreePath, query: DiffQuery):
    """The task's changes against its base branch: committed on its branch and not yet
    committed (new files included). 409 GIT_NOT_ENABLED, GIT_REPOSITORY_UNAVAILABLE (the
    workspace is not a repository), WORKTREE_NOT_READY (the repository is cloned on the first
    run)."""
    return envelope(worktree_actions.diff(path.task_id, current_user(), query.page,
                                          query.page_size))


@endpoint(bp, "post", "/tasks/<uuid:task_id>/worktree/commit", auth="write",
          summary="Commit the task's worktree", data=WorktreeChange, errors=[403, 404, 409])
def commit_worktree(path: WorktreePath, body: CommitBody):
    """Commit every change in the worktree (new files included) on the task's branch, authored
    by the caller. 409 GIT_NOTHING_TO_DO, TASK_ALREADY_RUNNING, WORKTREE_BUSY."""
    return envelope(worktree_actions.commit(path.task_id, current_user(), body.message))


@endpoint(bp, "post", "/tasks/<uuid:task_id>/worktree/discard", auth="write",
          summary="Discard the worktree's changes", data=WorktreeChange, errors=[403, 404, 409])
def discard_worktree(path: WorktreePath, body: DiscardBody):
    """Remove every uncommitted change (untracked files too): the worktree is reset to its
    branch's head. Needs `confirm: true` (422 without)."""
    return envelope(worktree_actions.discard(path.task_id, current_user(), body.confirm))


@endpoint(bp, "post", "/tasks/<uuid:task_id>/worktree/merge", auth="write",
          summary="Merge the task's branch into its base", data=WorktreeChange,
          errors=[403, 404, 409])
def merge_worktree(path: WorktreePath, body: MergeBody):
    """Fast-forward the base to the task's branch, or make a merge commit. A conflict is 409
    GIT_MERGE_CONFLICT with `details.conflicts` (the files) and changes nothing; uncommitted
    changes are 409 GIT_UNCOMMITTED_CHANGES."""
    return envelope(worktree_actions.merge(path.task_id, current_user()))
