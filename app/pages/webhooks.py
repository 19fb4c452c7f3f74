"""Webhooks page (`/webhooks`): create (the secret is shown once), list, edit, activate or
deactivate, delete, the deliveries log with every attempt, and a test ping.

The rules are `app.services.webhooks`' (the API's): http/https URLs only, known events, secrets
of 16-255 characters, your own webhooks (admins: all), delivery by workers with retries. Like
the API, reading needs `read` and every change needs `write`. The secret is never shown again
after the answer that created (or replaced) it.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import request
from werkzeug.datastructures import MultiDict

from app.errors import AppError
from app.models.webhook import DELIVERY_STATUSES, WEBHOOK_EVENTS
from app.pages import bp
from app.pages.auth import login_required, page_user
from app.pages.htmx import go, render
from app.pages.page_forms import errors_of, rollback, text
from app.services import webhooks

LIST_PAGE = "pages/webhooks/index.html"
DETAIL_PAGE = "pages/webhooks/detail.html"
DELIVERIES_SIZE = 20


def _fields(form: MultiDict) -> dict[str, Any]:
    return {"url": form.get("url", ""), "events": form.getlist("events"),
            "description": text(form, "description"), "active": form.get("active") == "1"}


def _list_context(**extra: Any) -> dict[str, Any]:
    result = webhooks.list_webhooks(page_user(), 1, 100)
    return {"hooks": [webhooks.webhook_dict(h) for h in result.items], "total": result.total,
            "events": WEBHOOK_EVENTS, "errors": {}, "values": {"active": "1"}, **extra}


@bp.get("/webhooks")
@login_required("read")
def webhooks_index():
    return render(LIST_PAGE, **_list_context())


@bp.post("/webhooks")
@login_required("write")
def webhooks_create():
    form = request.form
    fields = _fields(form)
    try:
        hook, secret = webhooks.create_webhook(page_user(), fields["url"], fields["events"],
                                               text(form, "secret"), fields["active"],
                                               fields["description"])
    except AppError as exc:
        rollback()
        return render(LIST_PAGE, "partials/webhooks/_panel.html", 422,
                      **_list_context(errors=errors_of(exc), values=form))
    return render(LIST_PAGE, "partials/webhooks/_panel.html",
                  **_list_context(created=webhooks.webhook_dict(hook), secret=secret))


@bp.post("/webhooks/<uuid:webhook_id>/<any(activate, deactivate):action>")
@login_required("write")
def webhooks_toggle(webhook_id: uuid.UUID, action: str):
    webhooks.update_webhook(webhook_id, page_user(), {"active": action == "activate"})
    return render(LIST_PAGE, "partials/webhooks/_panel.html", **_list_context())


# ---------------------------------------------------------------- one webhook

def _detail_context(webhook_id: uuid.UUID, **extra: Any) -> dict[str, Any]:
    user = page_user()
    hook = webhooks.webhook_dict(webhooks.get_webhook(webhook_id, user))
    status = request.args.get("status") if request.args.get("status") in DELIVERY_STATUSES \
        else None
    page = max(int(request.args["page"]), 1) if request.args.get("page", "").isdigit() else 1
    result, attempts = webhooks.list_deliveries(webhook_id, user, page, DELIVERIES_SIZE, status)
    deliveries = result.to_dict(lambda d: webhooks.delivery_dict(d, attempts[d.id]))
    waiting = any(d["status"] in ("pending", "retrying") for d in deliveries["items"])
    return {"hook": hook, "deliveries": deliveries, "waiting": waiting, "events": WEBHOOK_EVENTS,
            "delivery_statuses": DELIVERY_STATUSES, "status_filter": status or "",
            "errors": {}, "values": None, **extra}


@bp.get("/webhooks/<uuid:webhook_id>")
@login_required("read")
def webhook_detail(webhook_id: uuid.UUID):
    return render(DETAIL_PAGE, **_detail_context(webhook_id))


@bp.get("/webhooks/<uuid:webhook_id>/deliveries")
@login_required("read")
def webhook_deliveries(webhook_id: uuid.UUID):
    return render(DETAIL_PAGE, "partials/webhooks/_deliveries.html",
                  **_detail_context(webhook_id))


@bp.post("/webhooks/<uuid:webhook_id>")
@login_required("write")
def webhook_update(webhook_id: uuid.UUID):
    form = request.form
    changes = _fields(form)
    if text(form, "secret"):
        changes["secret"] = text(form, "secret")
    try:
        _hook, secret = webhooks.update_webhook(webhook_id, page_user(), changes)
    except AppError as exc:
        rollback()
        return render(DETAIL_PAGE, "partials/webhooks/_edit.html", 422,
                      **_detail_context(webhook_id, errors=errors_of(exc), values=form))
    return render(DETAIL_PAGE, "partials/webhooks/_edit.html",
                  **_detail_context(webhook_id, saved=True, secret=secret))


@bp.post("/webhooks/<uuid:webhook_id>/test")
@login_required("write")
def webhook_test(webhook_id: uuid.UUID):
    try:
        webhooks.send_test(webhook_id, page_user())
    except AppError as exc:
        rollback()
        return render(DETAIL_PAGE, "partials/webhooks/_deliveries.html",
                      **_detail_context(webhook_id, test_error=exc.message))
    return render(DETAIL_PAGE, "partials/webhooks/_deliveries.html",
                  **_detail_context(webhook_id, test_sent=True))


@bp.post("/webhooks/<uuid:webhook_id>/delete")
@login_required("write")
def webhook_delete(webhook_id: uuid.UUID):
    webhooks.delete_webhook(webhook_id, page_user())
    return go("/webhooks")
