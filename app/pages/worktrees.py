"""The task page's worktree panel (diff against the base, commit, discard, merge into base) and
the project form's git fields.

The panel is loaded by the task page after it is drawn (`hx-trigger="load"`: a big diff never
slows the page itself), and again when the task's status changes (static/js/worktree.js) or
Refresh is pressed; without htmx, `/tasks/<id>/worktree` is a page of its own. Every rule is in
`app.services.worktree_actions` (the API's): reading needs `read`, changing needs `write` and a
project that is not archived. A refusal (a conflict, nothing to commit, a run in progress, ...)
is the service's own message shown in the panel, which is drawn again either way, so what it
shows is always the worktree as it now is.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import request
from werkzeug.datastructures import MultiDict

from app.errors import AppError
from app.pages import bp
from app.pages.auth import login_required, page_user
from app.pages.htmx import render
from app.pages.page_forms import errors_of, rollback, text
from app.services import git_diff, worktree_actions
from app.services.access import get_project, get_task
from app.services.tasks import task_summary

PAGE = "pages/worktrees/diff.html"
PANEL = "partials/worktrees/_diff.html"


def panel_context(task_id: uuid.UUID, page: int = 1, **extra: Any) -> dict[str, Any]:
    """What the panel shows: the diff (or why there is none) and what the viewer may do."""
    user = page_user()
    task = get_task(task_id, user)  # 403/404 as the page's own answer, not inside the panel
    project = get_project(task.project_id, user)
    diff, error = None, None
    try:
        diff = worktree_actions.diff(task_id, user, page, git_diff.DEFAULT_PAGE_SIZE)
    except AppError as exc:
        rollback()
        error = exc.message
    return {"t": task_summary(task), "p": {"id": str(project.id), "name": project.name},
            "d": diff, "error": error, "user": user,
            "can_change": user.has_permission("write") and project.status != "archived",
            "form_errors": {}, **extra}


def _page_number() -> int:
    raw = request.args.get("page", "")
    return min(max(int(raw), 1), 1_000_000) if raw.isdigit() else 1


@bp.get("/tasks/<uuid:task_id>/worktree")
@login_required("read")
def task_worktree(task_id: uuid.UUID):
    return render(PAGE, PANEL, **panel_context(task_id, _page_number()))


def _act(task_id: uuid.UUID, action: Callable[[], dict[str, Any]],
         said: Callable[[dict[str, Any]], str]):
    """Run a change, then draw the panel again with what happened (or why not)."""
    get_task(task_id, page_user())
    try:
        done = action()
    except AppError as exc:
        rollback()
        errors = errors_of(exc)
        return render(PAGE, PANEL, **panel_context(task_id, action_error=exc.message,
                                                   form_errors=errors,
                                                   message=request.form.get("message", "")))
    return render(PAGE, PANEL, **panel_context(task_id, result=said(done)))


@bp.post("/tasks/<uuid:task_id>/worktree/commit")
@login_required("write")
def task_worktree_commit(task_id: uuid.UUID):
    return _act(task_id, lambda: worktree_actions.commit(
        task_id, page_user(), (request.form.get("message") or "").replace("\r\n", "\n")),
        lambda d: f"Committed {d['files']} file(s) on {d['branch']} as {d['commit'][:12]}.")


@bp.post("/tasks/<uuid:task_id>/worktree/discard")
@login_required("write")
def task_worktree_discard(task_id: uuid.UUID):
    return _act(task_id, lambda: worktree_actions.discard(
        task_id, page_user(), request.form.get("confirm") == "yes"),
        lambda d: f"Discarded {d['files']} uncommitted file(s): {d['branch']} is back at "
                  f"{d['head'][:12]}.")


@bp.post("/tasks/<uuid:task_id>/worktree/merge")
@login_required("write")
def task_worktree_merge(task_id: uuid.UUID):
    return _act(task_id, lambda: worktree_actions.merge(task_id, page_user()),
                lambda d: f"Merged {d['branch']} into {d['base_branch']} ("
                          f"{'fast-forward' if d['fast_forward'] else 'merge commit'} "
                          f"{d['commit'][:12]}).")


# ---------------------------------------------------------------- the project form's fields

def git_form_values(stored: Any) -> dict[str, Any]:
    """The project form's git fields from the stored `settings.git`."""
    git = stored if isinstance(stored, dict) else {}
    return {"git_enabled": "on" if git.get("enabled") is True else "",
            "git_repository_url": git.get("repository_url") or "",
            "git_base_branch": git.get("base_branch") or ""}


def git_form_settings(form: MultiDict) -> dict[str, Any]:
    """`settings.git` as the form gives it (an empty field resets that key)."""
    return {"enabled": form.get("git_enabled") == "on",
            "repository_url": text(form, "git_repository_url"),
            "base_branch": text(form, "git_base_branch")}
