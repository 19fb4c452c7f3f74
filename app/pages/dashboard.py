"""The landing page after login."""

from __future__ import annotations

from app.pages import bp
from app.pages.auth import login_required
from app.pages.htmx import render


@bp.get("/")
@login_required()
def dashboard():
    return render("pages/dashboard/index.html")
