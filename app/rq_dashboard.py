"""rq-dashboard at `/rq`, for admins only (STACK.md's traps avoided).

The guard is registered on the app for the `rq_dashboard` blueprint (never on the module-global
blueprint, which would leak into every later app); the page user comes from the JWT cookies the
HTML pages use. Only safe methods are allowed: the dashboard's own buttons (delete, requeue,
empty) would change jobs behind the app's back — runs would be left `queued` forever — so queue
control goes through `/api/queues` instead. Rate limits only apply under /api, so its 2.5 s
polling is not limited.
"""

from __future__ import annotations

from flask import Flask, redirect, request

from app.errors import error_envelope


def _guard():
    from app.pages.auth import page_user

    user = page_user()
    if user is None:
        return redirect(f"/login?next={request.path}")
    if not user.is_admin:
        return error_envelope("AUTH_INSUFFICIENT_PERMISSIONS",
                              "The RQ dashboard is for admins only")
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        return error_envelope("METHOD_NOT_ALLOWED", "The dashboard is read-only here; use "
                              "/api/queues to pause, resume or clear queues")
    return None


def register_rq_dashboard(app: Flask) -> None:
    import rq_dashboard

    app.config.setdefault("RQ_DASHBOARD_REDIS_URL", app.config["REDIS_URL"])
    app.config.setdefault("RQ_DASHBOARD_POLL_INTERVAL", 2500)
    rq_dashboard.web.setup_rq_connection(app)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix="/rq")
    app.before_request_funcs.setdefault("rq_dashboard", []).insert(0, _guard)
