"""A project's task board (columns by status, filters, live cards) and its analytics page.

The board reads tasks with `task_query.list_tasks` (the API's list: same visibility, filters and
search syntax), one page of at most COLUMN_SIZE cards per status column, most urgent first; the
column count is the full total and "Show more" loads the next page. Cards move live: the page
opens the pages socket on topic `project:<id>` and 6B's socket pushes card/count fragments (ids
in the contract; `static/js/board.js` also puts any card swapped in place into the column its
`data-status` names).

Analytics: `analytics.project_analytics` (the API's figures) plus the duration distribution;
the period switch swaps the `#analytics` fragment and `static/js/charts.js` draws the charts
from the JSON in each canvas' `data-chart` attribute (no inline script, nothing built from user
data).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from flask import request, url_for

from app.errors import AppError
from app.models.task import TASK_STATUSES
from app.pages import bp
from app.pages.auth import login_required, page_user
from app.pages.htmx import render
from app.pages.page_forms import project_people
from app.services import analytics, project_views, projects, task_query
from app.services.access import get_project
from app.services.analytics import PERIODS
from app.services.task_status import MANUAL_STATUSES
from app.services.tasks import task_summary

COLUMN_SIZE = 100
BOARD_PAGE = "pages/projects/board.html"
ANALYTICS_PAGE = "pages/projects/analytics.html"
COLUMN_LABELS = {"pending": "Pending", "queued": "Queued", "running": "Running",
                 "completed": "Completed", "failed": "Failed", "cancelled": "Cancelled"}


def _filters(project_id: uuid.UUID) -> tuple[task_query.TaskFilters, dict[str, str]]:
    """Board filters from the query string, and the same as plain strings for the form/links."""
    args = request.args
    raw = {"tag": (args.get("tag") or "").strip()[:50],
           "assignee": (args.get("assignee") or "").strip(),
           "search": (args.get("search") or "").strip()[:500]}
    try:
        assignee = uuid.UUID(raw["assignee"]) if raw["assignee"] else None
    except ValueError:
        assignee, raw["assignee"] = None, ""
    filters = task_query.TaskFilters(project_id=project_id, tags=raw["tag"] or None,
                                     assigned_to=assignee, search=raw["search"] or None,
                                     sort="priority", order="desc")
    return filters, raw


def _column(filters: task_query.TaskFilters, status: str, page: int) -> tuple[list, int, bool]:
    result = task_query.list_tasks(page_user(), replace(filters, status=status), page,
                                   COLUMN_SIZE)
    return [task_summary(r) for r in result.items], result.total, result.has_next


def board_url(project_id: str, status: str, page: int, filters: dict[str, str]) -> str:
    return url_for("pages.project_board_more", project_id=project_id, status=status,
                   page=page, **{k: v for k, v in filters.items() if v})


def _board_context(project_id: uuid.UUID) -> dict[str, Any]:
    user = page_user()
    project = get_project(project_id, user)
    filters, raw = _filters(project.id)
    columns: dict[str, list] = {s: [] for s in TASK_STATUSES}
    counts = dict.fromkeys(TASK_STATUSES, 0)
    more = dict.fromkeys(TASK_STATUSES, False)
    filter_error = None
    try:
        for status in TASK_STATUSES:
            columns[status], counts[status], more[status] = _column(filters, status, 1)
    except AppError as exc:  # a malformed search (with its position): shown above the board
        filter_error = exc.message
    return {"p": projects.project_dict(project), "tab": "board", "columns": columns,
            "counts": counts, "more": more, "labels": COLUMN_LABELS, "filters": raw,
            "filter_error": filter_error, "tags": project_views.project_tags(project.id, user),
            "people": project_people(project), "statuses": TASK_STATUSES,
            "manual_statuses": MANUAL_STATUSES, "board_url": board_url}


@bp.get("/projects/<uuid:project_id>/board")
@login_required("read")
def project_board(project_id: uuid.UUID):
    return render(BOARD_PAGE, "partials/projects/_board.html", **_board_context(project_id))


@bp.get("/projects/<uuid:project_id>/board/<any(" + ", ".join(TASK_STATUSES) + "):status>")
@login_required("read")
def project_board_more(project_id: uuid.UUID, status: str):
    """The next page of one column: cards appended out of band, and the next "more" button."""
    get_project(project_id, page_user())
    filters, raw = _filters(project_id)
    page = max(int(request.args["page"]), 2) if request.args.get("page", "").isdigit() else 2
    cards, _total, has_next = _column(filters, status, page)
    return render("partials/projects/_board_more.html", column=status,
                  cards=cards, has_next=has_next, loaded_page=page, filters=raw,
                  p={"id": str(project_id)}, board_url=board_url)


# ---------------------------------------------------------------- analytics

def _chart(kind: str, labels: list[str], series: list[tuple[str, list]]) -> dict[str, Any]:
    return {"type": kind, "labels": labels,
            "series": [{"label": name, "data": data} for name, data in series]}


@bp.get("/projects/<uuid:project_id>/analytics")
@login_required("read")
def project_analytics(project_id: uuid.UUID):
    user = page_user()
    period = request.args.get("period") if request.args.get("period") in PERIODS else "30d"
    project = projects.project_dict(get_project(project_id, user))
    data = analytics.project_analytics(project_id, user, period)
    spread = project_views.duration_distribution(project_id, user, period)
    trends = data["task_trends"]
    charts = {
        "trend": _chart("line", trends["days"], [("Created", trends["created_per_day"]),
                                                 ("Completed", trends["completed_per_day"])]),
        "durations": _chart("bar", spread["labels"], [("Completed tasks", spread["counts"])]),
    }
    return render(ANALYTICS_PAGE, "partials/projects/_analytics.html", p=project,
                  tab="analytics", a=data, spread=spread, charts=charts, period=period,
                  periods=list(PERIODS))
