"""Command console (`/commands`): type a command line, see suggestions and safety warnings as
you type, pick a project and a working directory, run it and watch its output live, cancel it,
and re-run anything from the history.

Everything is the API's: suggestions are `command_suggestions.suggest` (catalogue + your own
history), warnings are `command_safety.analyze` (the analysis of POST /api/commands/validate),
running is `commands.execute` (which refuses an unsafe command unless an admin forces it,
checks project access and keeps the working directory inside the workspace). A refusal is
shown next to the form. Running and cancelling need the `execute` permission, like the API.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from flask import request
from sqlalchemy import select

from app.errors import AppError, ValidationFailed
from app.extensions import db
from app.models.project import Project
from app.pages import bp
from app.pages.auth import login_required, page_user
from app.pages.htmx import go, is_fragment_request, render
from app.pages.output_view import run_view, tail
from app.pages.page_forms import errors_of, integer, rollback, text
from app.pages.viewer import socket_url
from app.request_hooks import maintenance_exempt
from app.services import command_safety, command_suggestions, commands, workspace
from app.services.access import get_project, visible_projects

CONSOLE_PAGE = "pages/commands/index.html"
HISTORY_SIZE = 20
MAX_DIRECTORIES = 200


def _projects() -> list[Project]:
    """Projects the user may run commands in (visible and not archived)."""
    return list(db.session.scalars(select(Project).where(
        visible_projects(page_user()), Project.status != "archived")
        .order_by(Project.name).limit(500)))


def _history(offset: int = 0) -> dict[str, Any]:
    return commands.history(page_user(), HISTORY_SIZE, offset)


def _console(**extra: Any) -> dict[str, Any]:
    return {"projects": _projects(), "history": _history(), "errors": {}, "values": {},
            "run": None, **extra}


def _run_context(command_id: uuid.UUID) -> dict[str, Any]:
    run = run_view("command", command_id, page_user())
    out = tail("command", command_id, last_seq=run["output_lines"] or 0)
    return {"run": run, "out": out, "socket_url": socket_url(run, out["last_seq"])}


@bp.get("/commands")
@login_required("read")
def console():
    return render(CONSOLE_PAGE, **_console())


@bp.get("/commands/assist")
@login_required("read")
def console_assist():
    """Suggestions for what is typed so far, and the safety analysis of the whole line."""
    line = (request.args.get("command") or "")[:10000]
    words = line.split()
    found = command_suggestions.suggest(page_user().id, words[0] if words else None,
                                        line.lstrip() or None, limit=8)
    report = command_safety.analyze(line).to_dict() if line.strip() else None
    found = [s for s in found if s["command"] != line.strip()]
    return render("partials/commands/_assist.html", suggestions=found, report=report,
                  line=line)


@bp.get("/commands/directories")
@login_required("read")
def console_directories():
    """Directories of the chosen project's workspace (no project: the caller's scratch
    directory), for the working-directory picker."""
    raw = request.args.get("project_id") or ""
    found: list[str] = []
    if raw:
        try:
            project = get_project(uuid.UUID(raw), page_user())
        except (ValueError, AppError):
            project = None
        if project is not None:
            found = _directories(workspace.create(project.id))
    else:
        found = _directories(workspace.create(None, page_user().id))
    return render("partials/commands/_directories.html", directories=found)


def _directories(base, depth: int = 2) -> list[str]:
    """Relative paths of directories under `base`, two levels deep, hidden ones skipped."""
    out: list[str] = []
    for current, dirs, _files in os.walk(base):
        rel = os.path.relpath(current, base)
        level = 0 if rel == "." else rel.count(os.sep) + 1
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if level >= depth:
            dirs[:] = []
        if rel != ".":
            out.append(rel.replace(os.sep, "/"))
        if len(out) >= MAX_DIRECTORIES:
            break
    return out


def _form_values() -> dict[str, Any]:
    form = request.form
    return {"command": (form.get("command") or "").replace("\r\n", "\n").strip(),
            "project_id": text(form, "project_id"),
            "working_directory": text(form, "working_directory"),
            "timeout": text(form, "timeout"), "force": form.get("force") == "1"}


def _project_id(raw: str | None) -> uuid.UUID | None:
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ValidationFailed("project_id", "must be one of your projects") from None


def _ran(command_id: str):
    """After a run starts: its live panel in the console (or its own page without htmx)."""
    if not is_fragment_request():
        return go(f"/commands/{command_id}")
    return render(CONSOLE_PAGE, "partials/commands/_ran.html",
                  **_run_context(uuid.UUID(command_id)), history=_history())


@bp.post("/commands")
@login_required("execute")
def console_run():
    values = _form_values()
    try:
        if not values["command"]:
            raise ValidationFailed("command", "Type a command to run",
                                   code="VALIDATION_REQUIRED_FIELD")
        started = commands.execute(
            page_user(), values["command"], working_directory=values["working_directory"],
            timeout=integer("timeout", values["timeout"]),
            project_id=_project_id(values["project_id"]), force=values["force"])
    except AppError as exc:
        rollback()
        resp = render(CONSOLE_PAGE, "partials/commands/_form.html", 422,
                      **_console(errors=errors_of(exc), values=values,
                                 refusal=(exc.details or {}).get("warnings")))
        resp.headers.update({"HX-Retarget": "#console-form-card", "HX-Reswap": "outerHTML"})
        return resp
    return _ran(started["command_id"])


@bp.post("/commands/<uuid:command_id>/rerun")
@login_required("execute")
def console_rerun(command_id: uuid.UUID):
    """The same command line, directory, project and timeout, run again by this user."""
    user = page_user()
    old = commands.get_command(command_id, user)
    try:
        started = commands.execute(user, old.command, working_directory=old.working_directory,
                                   timeout=old.timeout, env=old.environment or None,
                                   project_id=old.project_id,
                                   force=request.form.get("force") == "1")
    except AppError as exc:
        rollback()
        return _header(command_id, exc.message)
    if request.form.get("inline") == "1":
        return _ran(started["command_id"])
    return go(f"/commands/{started['command_id']}")


@bp.post("/commands/<uuid:command_id>/cancel")
@login_required("execute")
@maintenance_exempt
def console_cancel(command_id: uuid.UUID):
    try:
        commands.cancel(command_id, page_user(), "Cancelled from the page")
    except AppError as exc:
        rollback()
        return _header(command_id, exc.message)
    return _header(command_id)


def _header(command_id: uuid.UUID, error: str | None = None):
    run = run_view("command", command_id, page_user())
    return render("partials/output/_header.html", run=run, action_error=error)


@bp.get("/commands/history")
@login_required("read")
def console_history():
    raw = request.args.get("offset", "")
    offset = min(int(raw), 10**6) if raw.isdigit() else 0
    return render("partials/commands/_history.html", history=_history(offset))
