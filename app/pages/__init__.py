"""HTML pages: Jinja templates made live with htmx, on the same services as the API."""

from __future__ import annotations

import pkgutil
from datetime import datetime
from importlib import import_module
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, current_app, g, request

from app.pages.auth import page_user

bp = Blueprint("pages", __name__)
_HELPERS = {"auth", "htmx"}  # modules without routes


def register_pages(app: Flask) -> None:
    # Every module of this package registers its routes on `bp` when imported.
    for module in pkgutil.iter_modules(__path__):
        if module.name not in _HELPERS:
            import_module(f"{__name__}.{module.name}")
    app.register_blueprint(bp)
    app.context_processor(_template_context)
    app.add_template_filter(localtime, "localtime")


def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A stored UTC time in the viewer's own time zone (preferences), for every displayed time."""
    if value is None:
        return "—"
    user = g.get("user") if "user" in g else None
    zone = (user.merged_preferences.get("timezone") if user else None) or "UTC"
    try:
        return value.astimezone(ZoneInfo(zone)).strftime(fmt)
    except (KeyError, ValueError):
        return value.strftime(fmt) + " UTC"


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
