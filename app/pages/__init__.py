"""HTML pages: Jinja templates made live with htmx, on the same services as the API."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, g, request

from app.pages.auth import page_user

bp = Blueprint("pages", __name__)


def register_pages(app: Flask) -> None:
    from app.pages import dashboard, session  # noqa: F401 - routes register on import

    app.register_blueprint(bp)
    app.context_processor(_template_context)


def _template_context() -> dict:
    user = g.get("user") if "user" in g else None
    if user is None and request.blueprint == "pages":
        user = page_user()
    prefs = user.merged_preferences if user else {}
    return {
        "current_user": user,
        "theme": prefs.get("theme", "light"),
        "user_timezone": prefs.get("timezone", "UTC"),
        "csrf_token": request.cookies.get(current_app.config["JWT_ACCESS_CSRF_COOKIE_NAME"], ""),
        "app_version": current_app.config["VERSION"],
    }
