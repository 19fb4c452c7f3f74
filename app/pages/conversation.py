"""Working with Claude from the pages: the task's conversation, follow-ups, talking to a running
run (message, interrupt) and answering its permission requests.

Every rule is the API's (app.services.conversation, app.services.approvals): the same checks,
history and events. The task page loads its conversation panel once it is drawn (a long
conversation never slows the page) and again when the task's status changes
(static/js/conversation.js). The run page's Claude controls (`partials/output/
_claude_controls.html`) come with the run's header, so the page socket redraws them whenever the
run changes (a permission request appears, is answered, the run ends); a message being typed
survives those redraws (`hx-preserve`). A refusal is the service's own message, shown in place.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from flask import g, request

from app.errors import AppError
from app.extensions import db
from app.models.execution import TaskExecution
from app.pages import bp
from app.pages.auth import login_required, page_user
from app.pages.htmx import go, render
from app.pages.output_view import run_view, tail
from app.pages.page_forms import rollback
from app.request_hooks import maintenance_exempt
from app.services import approvals, conversation, executions
from app.services.access import get_project, get_task
from app.services.task_status import ACTIVE
from app.services.tasks import task_summary

PANEL = "partials/tasks/_conversation.html"
CONTROLS = "partials/output/_claude_controls.html"
FOLLOW_UP = "partials/tasks/_follow_up.html"
RUNS_SHOWN = 10
LINES_PER_RUN = 150
SHOWN_KINDS = frozenset({"text", "tool_use", "tool_result", "result", "prompt", "permission"})
ATTENTION_SECONDS = 2.0


# ---------------------------------------------------------------- shared views

def claude_run(ex: TaskExecution, user: Any, archived: bool) -> dict[str, Any]:
    """What the run page shows of a Claude run beyond its fields (app.pages.output_view)."""
    found = approvals.for_execution(ex.id)
    execute = user is not None and user.has_permission("execute") and not archived
    latest = conversation.last_session(ex.task_id) if ex.status in ("completed", "failed",
                                                                     "cancelled") else None
    task_active = latest is not None and db.session.scalar(
        _task_status(ex.task_id)) in ACTIVE
    return {"approvals": found,
            "pending": [a for a in found if a["status"] == "pending"],
            "can_decide": execute and ex.status == "running",
            "can_talk": execute and ex.status == "running" and ex.run_directory is not None,
            "can_follow_up": bool(execute and latest is not None and latest.id == ex.id
                                  and not task_active)}


def _task_status(task_id: uuid.UUID):
    from sqlalchemy import select

    from app.models.task import Task

    return select(Task.status).where(Task.id == task_id)


@bp.app_template_global()
def needs_attention(task_id: Any) -> bool:
    """Whether a task has a permission request waiting (board cards). One query per page
    (cached on the request for a moment), not one per card."""
    cached = g.get("_attention")
    now = time.monotonic()
    if cached is None or now - cached[0] > ATTENTION_SECONDS:
        cached = (now, approvals.tasks_needing_attention())
        g._attention = cached
    return str(task_id) in cached[1]


def conversation_context(task_id: uuid.UUID, **extra: Any) -> dict[str, Any]:
    """The task's last Claude runs, oldest first, each with its prompt and the conversation
    part of its output (text, tool calls, results, messages, permission requests)."""
    user = page_user()
    task = get_task(task_id, user)
    project = get_project(task.project_id, user)
    runs = executions.list_for_task(task_id, user, 1, RUNS_SHOWN)
    turns = []
    for run in reversed(runs["items"]):
        if run["executor"] != "claude":
            continue
        out = tail("execution", uuid.UUID(run["id"]), limit=LINES_PER_RUN,
                   last_seq=run["output_lines"] or 0)
        turns.append({"run": run, "has_earlier": out["has_earlier"],
                      "lines": [line for line in out["lines"] if line["kind"] in SHOWN_KINDS]})
    latest = conversation.last_session(task.id)
    can_follow_up = (task.executor == "claude" and latest is not None
                     and user.has_permission("execute") and project.status != "archived"
                     and task.status not in ACTIVE)
    return {"t": task_summary(task), "turns": turns, "total": runs["total"],
            "can_follow_up": can_follow_up, "user": user,
            "follow_error": None, "follow_message": "", **extra}


def _controls(execution_id: uuid.UUID, note: str | None = None, error: str | None = None):
    """The run's controls after an action. A sent message (`note`) is cleared from its box by
    an `HX-Trigger` event on the form (static/js/conversation.js), not by a mark in the
    redrawn section: the page socket may redraw that section first, and the mark is lost."""
    run = run_view("execution", execution_id, page_user())
    resp = render(CONTROLS, CONTROLS, run=run, talk_note=note, talk_error=error)
    if note:
        resp.headers["HX-Trigger"] = json.dumps({"claude-message-sent":
                                                 {"box": f"run-{execution_id}-say"}})
    return resp


# ---------------------------------------------------------------- routes

@bp.get("/tasks/<uuid:task_id>/conversation")
@login_required("read")
def task_conversation(task_id: uuid.UUID):
    return render(PANEL, PANEL, **conversation_context(task_id))


@bp.post("/tasks/<uuid:task_id>/follow-up")
@login_required("execute")
def task_follow_up(task_id: uuid.UUID):
    message = (request.form.get("message") or "").replace("\r\n", "\n")
    try:
        queued = conversation.follow_up(task_id, page_user(), message,
                                        request.form.get("priority", "normal"))
    except AppError as exc:
        rollback()
        t = task_summary(get_task(task_id, page_user()))
        return render(FOLLOW_UP, FOLLOW_UP, t=t, follow_error=exc.message,
                      follow_message=message, say_id=request.form.get("say_id") or None)
    return go(f"/executions/{queued['execution_id']}")


@bp.post("/executions/<uuid:execution_id>/messages")
@login_required("execute")
def execution_message(execution_id: uuid.UUID):
    try:
        conversation.send_message(execution_id, page_user(), request.form.get("message"))
    except AppError as exc:
        rollback()
        return _controls(execution_id, error=exc.message)
    return _controls(execution_id, note="Sent: Claude reads it as its next message.")


@bp.post("/executions/<uuid:execution_id>/interrupt")
@login_required("execute")
@maintenance_exempt
def execution_interrupt(execution_id: uuid.UUID):
    message = request.form.get("message") or None
    try:
        conversation.interrupt(execution_id, page_user(),
                               message if message and message.strip() else None)
    except AppError as exc:
        rollback()
        return _controls(execution_id, error=exc.message)
    return _controls(execution_id, note="Interrupting" + (": your message follows."
                                                          if message and message.strip()
                                                          else "."))


@bp.post("/approvals/<uuid:approval_id>/decision")
@login_required("execute")
@maintenance_exempt
def approval_decision(approval_id: uuid.UUID):
    user = page_user()
    try:
        decided = approvals.decide(approval_id, user, request.form.get("decision", ""),
                                   request.form.get("message"))
        execution_id, error = uuid.UUID(decided["execution_id"]), None
    except AppError as exc:
        rollback()
        error = exc.message
        execution_id = _execution_of(approval_id)
        if execution_id is None:
            raise
    return _controls(execution_id, error=error)


def _execution_of(approval_id: uuid.UUID) -> uuid.UUID | None:
    from app.models.approval import RunApproval

    row = db.session.get(RunApproval, approval_id)
    return row.execution_id if row is not None else None
