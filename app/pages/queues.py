"""Queues page (`/queues`): sizes, jobs in progress and workers, live; pause, resume and clear
for admins; a metrics chart over 1h, 24h or 7d; a link to rq-dashboard for admins.

Figures are the API's (`queue_stats.status` / `metrics`: from RQ and recorded runs); control is
`queue_control` (audited, with events), refused to anyone but an admin like the API (403).
Clearing needs a confirmation: the button asks, and the form must carry `confirm=1`. The page
opens the pages socket on topic `queues`: the socket pushes `#queues-figures` when the figures
change and `#queues-controls` when a queue is paused or resumed (app.realtime.pages_socket).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import request

from app.errors import AppError
from app.jobs import QUEUES
from app.pages import bp, localtime
from app.pages.auth import login_required, page_user
from app.pages.htmx import render
from app.pages.page_forms import rollback
from app.request_hooks import maintenance_exempt
from app.services import queue_control, queue_stats
from app.services.queue_stats import PERIODS

QUEUES_PAGE = "pages/queues/index.html"


def chart(metrics: dict[str, Any]) -> dict[str, Any]:
    """The timeline as the chart script takes it (labels in the viewer's time zone, one
    series per outcome)."""
    timeline = metrics["timeline"]
    step = "%H:%M" if metrics["period"] != "7d" else "%m-%d"
    labels = [localtime(datetime.fromisoformat(b["start"].replace("Z", "+00:00")), step)
              for b in timeline]
    return {"type": "bar", "labels": labels, "stacked": True,
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
    return render(QUEUES_PAGE, metrics=metrics, chart=chart(metrics), periods=list(PERIODS),
                  **controls_context(queue_stats.status()))


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
