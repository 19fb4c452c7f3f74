"""Running a task from its page (execute with a queue, cancel, retry), its dependencies (add,
remove, the task picker) and its executions list.

Execute and retry answer with a redirect to the run's live output (`/executions/<id>`, 6B's
viewer). Cancel answers with the actions again and the status badge out of band. A refusal
(already running, dependencies not met, an unsafe command, maintenance, ...) is the service's
own message, shown under the buttons. Role rules are the API's: execute/cancel/retry need the
`execute` permission, dependencies need `write`; a viewer who posts anyway gets the 403 page.
"""

from __future__ import annotations

import re
import uuid

from flask import request

from app.errors import AppError
from app.pages import bp
from app.pages.auth import login_required, page_user
from app.pages.htmx import go, render
from app.pages.page_forms import errors_of, rollback
from app.pages.tasks import DETAIL_PAGE, EXECUTIONS_SHOWN, detail_context
from app.request_hooks import maintenance_exempt
from app.services import dependencies, executions, task_query
from app.services.access import get_project, get_task
from app.services.tasks import task_summary

PICKER_SIZE = 15
_SYNTAX = re.compile(r'["():*]|\b(AND|OR|NOT)\b')


def _actions(task_id: uuid.UUID, error: str | None = None):
    return render(DETAIL_PAGE, "partials/tasks/_actions_response.html",
                  **detail_context(task_id, action_error=error))


@bp.post("/tasks/<uuid:task_id>/execute")
@login_required("execute")
def task_execute(task_id: uuid.UUID):
    try:
        queued = executions.execute(task_id, page_user(), request.form.get("priority", "normal"))
    except AppError as exc:
        rollback()
        return _actions(task_id, exc.message)
    return go(f"/executions/{queued['execution_id']}")


@bp.post("/tasks/<uuid:task_id>/retry")
@login_required("execute")
def task_retry(task_id: uuid.UUID):
    try:
        queued = executions.retry(task_id, page_user())
    except AppError as exc:
        rollback()
        return _actions(task_id, exc.message)
    return go(f"/executions/{queued['execution_id']}")


@bp.post("/tasks/<uuid:task_id>/cancel")
@login_required("execute")
@maintenance_exempt
def task_cancel(task_id: uuid.UUID):
    try:
        executions.cancel(task_id, page_user(), (request.form.get("reason") or "").strip()
                          or None)
    except AppError as exc:
        rollback()
        return _actions(task_id, exc.message)
    return _actions(task_id)


@bp.get("/tasks/<uuid:task_id>/executions")
@login_required("read")
def task_executions(task_id: uuid.UUID):
    page = max(int(request.args["page"]), 1) if request.args.get("page", "").isdigit() else 1
    runs = executions.list_for_task(task_id, page_user(), page, EXECUTIONS_SHOWN)
    return render("partials/tasks/_executions.html", runs=runs,
                  t={"id": str(task_id)})


# ---------------------------------------------------------------- dependencies

def _dependencies(task_id: uuid.UUID, errors: dict[str, str] | None = None):
    return render(DETAIL_PAGE, "partials/tasks/_dependencies.html",
                  **detail_context(task_id, dep_errors=errors or {}))


@bp.post("/tasks/<uuid:task_id>/dependencies")
@login_required("write")
def task_add_dependency(task_id: uuid.UUID):
    try:
        dependencies.add_dependency(task_id, page_user(),
                                    request.form.get("depends_on_task_id", ""))
    except AppError as exc:
        rollback()
        return _dependencies(task_id, errors_of(exc))
    return _dependencies(task_id)


@bp.post("/tasks/<uuid:task_id>/dependencies/<uuid:dependency_id>/delete")
@login_required("write")
def task_remove_dependency(task_id: uuid.UUID, dependency_id: uuid.UUID):
    try:
        dependencies.remove_dependency(task_id, page_user(), dependency_id)
    except AppError as exc:
        rollback()
        return _dependencies(task_id, errors_of(exc))
    return _dependencies(task_id)


def picker_query(typed: str) -> str | None:
    """What a person types in a picker, as search syntax: plain words match as prefixes
    (`auth` finds "authentication"); anything using the syntax is passed as written."""
    typed = typed.strip()[:200]
    if not typed:
        return None
    if _SYNTAX.search(typed):
        return typed
    words = re.findall(r"[^\W_]+", typed)
    return " ".join(f"{w}*" for w in words) or None


@bp.get("/projects/<uuid:project_id>/task-picker")
@login_required("read")
def task_picker(project_id: uuid.UUID):
    """Tasks of the project matching `q` (excluding `for`), each with an Add button: it adds a
    dependency to task `for`, or (no `for`: the create form) a chip to the form."""
    user = page_user()
    get_project(project_id, user)
    target = request.args.get("for") or ""
    filters = task_query.TaskFilters(project_id=project_id,
                                     search=picker_query(request.args.get("q", "")),
                                     sort="updated_at")
    error, found = None, []
    try:
        found = [task_summary(r) for r in
                 task_query.list_tasks(user, filters, 1, PICKER_SIZE + 1).items]
    except AppError as exc:
        error = exc.message
    found = [t for t in found if t["id"] != target][:PICKER_SIZE]
    return render("partials/tasks/_picker_results.html", found=found,
                  picker_error=error, target=target, project_id=str(project_id))


@bp.get("/tasks/<uuid:task_id>/chip")
@login_required("read")
def task_chip(task_id: uuid.UUID):
    """A picked prerequisite in the create form (a checked checkbox carrying its id)."""
    chip = task_summary(get_task(task_id, page_user()))
    return render("partials/tasks/_dep_chip.html", chip=chip)
