"""The dashboard (`/`): task counts by status, runs in flight with progress bars, queues and
workers, recent activity, and notifications as toasts.

Figures are the viewer's own (`app.services.dashboard`: only projects they may see; queues are
the API's `queue_stats.status`). The page opens the pages socket on topics `dashboard`,
`queues` and `system`: counts, runs and activity are pushed again (at most once a second) when
a visible task, run or command changes, the queue figures when they change, and notifications
arrive as toasts in #toasts.
"""

from __future__ import annotations

from typing import Any

from app.models.user import User
from app.pages import bp
from app.pages.auth import login_required, page_user
from app.pages.htmx import render
from app.services import commands, dashboard, queue_stats


def live_context(user: User) -> dict[str, Any]:
    """What the socket pushes again: counts, runs in flight, activity."""
    return {"counts": dashboard.status_counts(user), "runs": dashboard.active_runs(user),
            "running": commands.running(user), "activity": dashboard.recent_activity(user)}


@bp.get("/")
@login_required()
def dashboard_page():
    return render("pages/dashboard/index.html", qs=queue_stats.status(),
                  **live_context(page_user()))
