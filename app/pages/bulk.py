"""Bulk task operations from the project board's select mode (the API's POST /api/tasks/bulk).

The board's bulk bar is one form (`#bulk-form`); the cards' checkboxes belong to it through
their `form` attribute, so the selected ids travel with whichever operation button was pressed.
Every rule is `app.services.bulk.run_bulk`'s (the API's): the operation's data is checked once
(a bad value refuses the whole request, nothing written, shown as one message), then each task
succeeds or fails on its own. The answer is the `#bulk-result` fragment: how many succeeded and,
for each failure, the task's title and the service's reason. Cards move through the pages
socket like any other change. Role rules are the API's: `write`, and the project must be
visible and not archived; a viewer who posts anyway gets the 403 page.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import request
from werkzeug.datastructures import MultiDict

from app.errors import AppError, ValidationFailed
from app.pages import bp
from app.pages.auth import login_required, page_user
from app.pages.htmx import render
from app.pages.page_forms import integer, rollback, tag_list, text, users_by_id
from app.services import bulk
from app.services.access import check_writable, get_project
from app.services.queued_tasks import task_titles

RESULT = "partials/bulk/_result.html"
LABELS = {"update_status": "Set status", "assign": "Assign", "add_tags": "Add tags",
          "remove_tags": "Remove tags", "set_priority": "Set priority", "delete": "Delete"}
FIELD_NAMES = {"task_ids": "Selection", "operation": "Operation", "data.status": "Status",
               "data.assigned_to": "Assignee", "data.tags": "Tags",
               "data.priority": "Priority", "confirm": "Delete"}


def operation_data(operation: str, form: MultiDict) -> dict[str, Any]:
    """The operation's `data` as the service takes it, from the bulk bar's fields."""
    if operation == "update_status":
        return {"status": form.get("status", "")}
    if operation == "assign":  # "Nobody" (empty) unassigns
        return {"assigned_to": text(form, "assigned_to")}
    if operation in ("add_tags", "remove_tags"):
        return {"tags": tag_list(form.get("tags"))}
    if operation == "set_priority":
        priority = integer("data.priority", form.get("priority"))
        if priority is None:
            raise ValidationFailed("data.priority", "Field is required",
                                   code="VALIDATION_REQUIRED_FIELD")
        return {"priority": priority}
    if operation == "delete" and form.get("confirm") != "yes":
        raise ValidationFailed("confirm", "deleting needs confirmation")
    return {}  # delete, or an unknown operation (the service names the valid ones)


def refusal(exc: AppError) -> str:
    """One line for a refusal of the whole request, naming the field it is about."""
    field = (exc.details or {}).get("field")
    if field == "task_ids" and exc.code == "VALIDATION_VALUE_TOO_SHORT":
        return "Select at least one task first."
    if field:
        issue = (exc.details or {}).get("issue") or exc.message
        return f"{FIELD_NAMES.get(str(field), str(field))}: {issue}"
    return exc.message


def outcome(result: dict[str, Any], operation: str, data: dict[str, Any],
            project_id: uuid.UUID) -> dict[str, Any]:
    """The service's answer with titles for the failures and a label for the summary."""
    titles = task_titles(result["failed"], project_id)
    failures = [{"task_id": e["task_id"], "title": titles.get(e["task_id"]),
                 "code": e["code"], "message": e["message"]} for e in result["errors"]]
    detail = data.get("status") or (", ".join(data["tags"]) if data.get("tags") else None)
    if operation == "set_priority":
        detail = str(data["priority"])
    elif operation == "assign":
        person = users_by_id([data["assigned_to"]]).get(str(data["assigned_to"]))
        detail = person.display_name if person else "nobody"
    return {"label": LABELS.get(operation, operation), "detail": detail,
            "done": len(result["successful"]), "total": len(result["successful"]) +
            len(failures), "successful": result["successful"], "failures": failures}


@bp.post("/projects/<uuid:project_id>/bulk")
@login_required("write")
def project_bulk(project_id: uuid.UUID):
    user, form = page_user(), request.form
    operation = form.get("operation", "")
    project = get_project(project_id, user)  # unknown or not shared: the error page, as anywhere
    try:
        check_writable(project)
        data = operation_data(operation, form)
        result = bulk.run_bulk(user, operation, form.getlist("task_ids"), data)
    except AppError as exc:
        rollback()
        return render(RESULT, None, 422, bulk_error=refusal(exc))
    return render(RESULT, bulk=outcome(result, operation, data, project_id))
