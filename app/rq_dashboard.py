"""rq-dashboard at `/rq`, for admins only, read-only (STACK.md's traps avoided).

The guard is registered on the app for the `rq_dashboard` blueprint (never on the module-global
blueprint, which would leak into every later app); the page user comes from the JWT cookies the
HTML pages use. Only the dashboard's viewing routes are served: its actions (delete, requeue,
requeue all — a GET route too —, empty, compact) would change jobs behind the app's back — runs
would be left `queued` for ever — so every other route of the blueprint is refused with 403
whatever the method, and queue control goes through `/api/queues` instead. Rate limits only apply
under /api, so its 2.5 s polling is not limited.
"""

from __future__ import annotations

from flask import Flask, request, url_for

from app.errors import error_envelope

# The dashboard's routes that only read (rq_dashboard/web.py); anything else it adds is refused.
VIEW_ENDPOINTS = frozenset({
    "rq_dashboard.static", "rq_dashboard.favicon", "rq_dashboard.queues_overview",
    "rq_dashboard.workers_overview", "rq_dashboard.jobs_overview", "rq_dashboard.job_view",
    "rq_dashboard.list_queues", "rq_dashboard.list_jobs", "rq_dashboard.job_info",
    "rq_dashboard.list_workers",
})


def _guard():
    from app.pages.auth import page_user

    user = page_user()
    if user is None:
        return _to_login()
    if not user.is_admin:
        return error_envelope("AUTH_INSUFFICIENT_PERMISSIONS",
                              "The RQ dashboard is for admins only")
    if request.endpoint is not None and request.endpoint not in VIEW_ENDPOINTS:
        return error_envelope("AUTH_INSUFFICIENT_PERMISSIONS",
                              "The dashboard is read-only here; use /api/queues (or the Queues "
                              "page) to pause, resume, clear or move jobs")
    return None


def _to_login():
    from app.pages.htmx import go

    return go(url_for("pages.login", next=request.full_path.rstrip("?")))


def register_rq_dashboard(app: Flask) -> None:
    import rq_dashboard

    app.config.setdefault("RQ_DASHBOARD_REDIS_URL", app.config["REDIS_URL"])
    app.config.setdefault("RQ_DASHBOARD_POLL_INTERVAL", 2500)
    # Hides the dashboard's delete/empty buttons (the routes are refused anyway).
    app.config.setdefault("RQ_DASHBOARD_DISABLE_DELETE", True)
    rq_dashboard.web.setup_rq_connection(app)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix="/rq")
    app.before_request_funcs.setdefault("rq_dashboard", []).insert(0, _guard)
