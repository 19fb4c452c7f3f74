"""Queues page (`/queues`): sizes, jobs in progress and workers, live; pause, resume and clear
for admins; a metrics chart over 1h, 24h or 7d; a link to rq-dashboard for admins.

Figures are the API's (`queue_stats.status` / `metrics`: from RQ and recorded runs); control is
`queue_control` (audited, with events), refused to anyone but an admin like the API (403).
Clearing needs a confirmation: the button asks, and the form must carry `confirm=1`. The page
opens the pages socket on topic `queues`: the socket pushes `#queues-figures` when the figures
change and `#queues-controls` when a queue is paused or resumed (app.realtime.pages_socket).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from flask import request

from app.errors import AppError, ValidationFailed
from app.jobs import QUEUES
from app.pages import bp, localtime
from app.pages.auth import login_required, page_user
from app.pages.htmx import render
from app.pages.page_forms import rollback
from app.request_hooks import maintenance_exempt
from app.services import queue_control, queue_stats, queued_tasks
from app.services.queue_stats import PERIODS

QUEUES_PAGE = "pages/queues/index.html"
WAITING_SHOWN = 50  # tasks listed per queue for moving


def chart(metrics: dict[str, Any]) -> dict[str, Any]:
    """The timeline as the chart script takes it (labels in the viewer's time zone, one
    series per outcome)."""
    timeline = metrics["timeline"]
    step = "%H:%M" if metrics["period"] != "7d" else "%m-%d"
    labels = [localtime(datetime.fromisoformat(b["start"].replace("Z", "+00:00")), step)
              for b in timeline]
    return {"type": "bar", "labels": labels, "stacked": True,
            "colours": ["--ok", "--danger", "--muted"],
            "series": [{"label": name.capitalize(), "data": [b[name] for b in timeline]}
                       for name in ("completed", "failed", "cancelled")]}


def _period() -> str:
    period = request.args.get("period", "24h")
    return period if period in PERIODS else "24h"


def controls_context(qs: dict[str, Any], error: str | None = None,
                     notice: str | None = None) -> dict[str, Any]:
    return {"qs": qs, "queue_names": QUEUES, "control_error": error,
            "control_notice": notice}


@bp.get("/queues")
@login_required("read")
def queues_page():
    metrics = queue_stats.metrics(_period())
    waiting = queued_tasks.waiting(WAITING_SHOWN) if page_user().is_admin else None
    return render(QUEUES_PAGE, metrics=metrics, chart=chart(metrics), periods=list(PERIODS),
                  waiting=waiting, **controls_context(queue_stats.status()))


@bp.get("/queues/metrics")
@login_required("read")
def queues_metrics():
    metrics = queue_stats.metrics(_period())
    return render(QUEUES_PAGE, "partials/queues/_metrics.html", metrics=metrics,
                  chart=chart(metrics), periods=list(PERIODS))


@bp.get("/queues/figures")
@login_required("read")
def queues_figures():
    """The live figures alone (what the socket pushes; also a fallback to poll)."""
    return render("partials/queues/_figures.html", qs=queue_stats.status())


def _control(action) -> Any:
    """Run one admin action; answer with the controls (and the figures out of band)."""
    error = notice = None
    try:
        notice = action()
    except AppError as exc:
        rollback()
        error = exc.message
    return render(QUEUES_PAGE, "partials/queues/_control_response.html",
                  **controls_context(queue_stats.status(), error, notice))


@bp.post("/queues/<name>/pause")
@login_required("admin")
@maintenance_exempt
def queue_pause(name: str):
    reason = (request.form.get("reason") or "").strip()[:1000] or None

    def pause() -> str:
        queue_control.pause(name, reason, page_user())
        return f"Queue {name} paused: workers take no new jobs from it."
    return _control(pause)


@bp.post("/queues/<name>/resume")
@login_required("admin")
@maintenance_exempt
def queue_resume(name: str):
    def resume() -> str:
        queue_control.resume(name, page_user())
        return f"Queue {name} resumed."
    return _control(resume)


@bp.post("/queues/<name>/clear")
@login_required("admin")
@maintenance_exempt
def queue_clear(name: str):
    def clear() -> str:
        done = queue_control.clear(name, request.form.get("confirm") == "1", page_user())
        return (f"Queue {name} cleared: {done['cleared']} job(s) removed, "
                f"{len(done['tasks_cancelled'])} task(s) and {done['commands_cancelled']} "
                "command(s) cancelled.")
    return _control(clear)


# ---------------------------------------------------------------- moving waiting tasks

def _task_ids(raw: list[str]) -> list[uuid.UUID]:
    if not raw:
        raise ValidationFailed("task_ids", "Select at least one waiting task first.")
    try:
        return [uuid.UUID(value) for value in raw]
    except ValueError:
        raise ValidationFailed("task_ids", "Not a task id") from None


def move_report(result: dict[str, Any]) -> dict[str, Any]:
    """`queue_control.set_priority`'s answer with titles, and a reason for each skipped task."""
    titles = queued_tasks.task_titles([m["task_id"] for m in result["updated"]]
                                      + [s["task_id"] for s in result["skipped"]])
    moved = [{**m, "title": titles.get(m["task_id"])} for m in result["updated"]]
    skipped = [{"task_id": s["task_id"], "title": titles.get(s["task_id"]),
                "reason": f"not waiting any more (now {s['status']})" if s.get("status")
                else "this task no longer exists"} for s in result["skipped"]]
    return {"to": result["priority"], "moved": moved, "skipped": skipped,
            "total": len(moved) + len(skipped)}


@bp.get("/queues/waiting")
@login_required("admin")
def queues_waiting():
    return render("partials/queues/_moves_waiting.html",
                  waiting=queued_tasks.waiting(WAITING_SHOWN), queue_names=QUEUES)


@bp.post("/queues/move")
@login_required("admin")
@maintenance_exempt
def queues_move():
    """Move the selected waiting tasks to another queue (the API's POST /api/queues/priority)."""
    report = error = None
    try:
        ids = _task_ids(request.form.getlist("task_ids"))
        report = move_report(queue_control.set_priority(ids, request.form.get("to", ""),
                                                        page_user()))
    except AppError as exc:
        rollback()
        details = exc.details or {}
        error = details["issue"] if details.get("field") == "task_ids" else exc.message
    return render("partials/queues/_moves_response.html", None, 422 if error else 200,
                  moves=report, moves_error=error, qs=queue_stats.status(),
                  waiting=queued_tasks.waiting(WAITING_SHOWN), queue_names=QUEUES)
