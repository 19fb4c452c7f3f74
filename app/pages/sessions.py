"""Work sessions page (`/sessions`): list, create, delete, settings, history and restore.

Everything goes through `app.services.sessions` (the API's): a session is its owner's, its
project must stay visible, an expired session reads but refuses changes (SESSION_EXPIRED),
every change writes history, a snapshot, the audit table and an event. Like the API, sessions
need only the `read` permission: viewers keep sessions too. Times typed in the restore form are
in the viewer's own time zone.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import request

from app.errors import AppError
from app.pages import bp
from app.pages.auth import login_required, page_user
from app.pages.htmx import go, render
from app.pages.page_forms import errors_of, json_object, local_input_to_utc, pretty_json, rollback
from app.services import projects, sessions

LIST_PAGE = "pages/sessions/index.html"
DETAIL_PAGE = "pages/sessions/detail.html"
STATUSES = ("active", "expired", "closed")
HISTORY_SIZE = 25


def _list_context(**extra: Any) -> dict[str, Any]:
    user = page_user()
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    result, names = sessions.list_sessions(user, status=status, page_size=100)
    visible = projects.list_projects(user, sort="name", order="asc", page_size=100).items
    return {"rows": [sessions.session_dict(s, names.get(s.project_id)) for s in result.items],
            "total": result.total, "status_filter": status or "", "statuses": STATUSES,
            "projects": visible, "errors": {}, "values": {}, **extra}


@bp.get("/sessions")
@login_required("read")
def sessions_index():
    return render(LIST_PAGE, "partials/sessions/_list.html", **_list_context())


@bp.post("/sessions")
@login_required("read")
def sessions_create():
    form = request.form
    try:
        raw_project = (form.get("project_id") or "").strip()
        project_id = uuid.UUID(raw_project) if raw_project else None
        created = sessions.create_session(page_user(), project_id,
                                          json_object("settings", form.get("settings_json")))
    except ValueError:
        return render(LIST_PAGE, "partials/sessions/_list.html", 422, **_list_context(
            errors={"project_id": "pick a project from the list"}, values=form))
    except AppError as exc:
        rollback()
        return render(LIST_PAGE, "partials/sessions/_list.html", 422,
                      **_list_context(errors=errors_of(exc), values=form))
    return go(f"/sessions/{created.id}")


def _detail_context(session_id: uuid.UUID, **extra: Any) -> dict[str, Any]:
    user = page_user()
    session = sessions.get_session(session_id, user)
    page = max(int(request.args["page"]), 1) if request.args.get("page", "").isdigit() else 1
    detail = sessions.session_detail(session)
    return {"s": detail, "history": sessions.history(session_id, user, page, HISTORY_SIZE,
                                                     "desc"),
            "settings_json": pretty_json(detail["settings"]), "errors": {}, **extra}


@bp.get("/sessions/<uuid:session_id>")
@login_required("read")
def session_detail(session_id: uuid.UUID):
    return render(DETAIL_PAGE, **_detail_context(session_id))


@bp.get("/sessions/<uuid:session_id>/history")
@login_required("read")
def session_history(session_id: uuid.UUID):
    return render(DETAIL_PAGE, "partials/sessions/_history.html",
                  **_detail_context(session_id))


@bp.post("/sessions/<uuid:session_id>/settings")
@login_required("read")
def session_settings(session_id: uuid.UUID):
    raw = request.form.get("settings_json", "")
    try:
        settings = json_object("settings", raw)
        current = sessions.session_dict(sessions.get_session(session_id, page_user()))
        removed = {k: None for k in current["settings"] if k not in settings}
        sessions.update_settings(session_id, page_user(), {**settings, **removed})
    except AppError as exc:
        rollback()
        return render(DETAIL_PAGE, "partials/sessions/_body.html", **_detail_context(
            session_id, errors=errors_of(exc), settings_json=raw))
    return render(DETAIL_PAGE, "partials/sessions/_body.html",
                  **_detail_context(session_id, notice="Settings saved"))


@bp.post("/sessions/<uuid:session_id>/restore")
@login_required("read")
def session_restore(session_id: uuid.UUID):
    form = request.form
    try:
        point = local_input_to_utc("restore_point", form.get("restore_point"))
        result = sessions.restore(session_id, page_user(), point,
                                  include_tasks=form.get("include_tasks") == "1",
                                  include_settings=form.get("include_settings") == "1")
    except AppError as exc:
        rollback()
        return render(DETAIL_PAGE, "partials/sessions/_body.html",
                      **_detail_context(session_id, restore_errors=errors_of(exc)))
    source = result["restored_from"]
    return render(DETAIL_PAGE, "partials/sessions/_body.html", **_detail_context(
        session_id, notice="Restored from the state of", notice_at=source["snapshot_at"]))


@bp.post("/sessions/<uuid:session_id>/delete")
@login_required("read")
def session_delete(session_id: uuid.UUID):
    sessions.delete_session(session_id, page_user())
    return go("/sessions")
