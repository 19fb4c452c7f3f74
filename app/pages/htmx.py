"""htmx helpers: one place decides fragment vs full page, and redirects that htmx follows."""

from __future__ import annotations

from typing import Any

from flask import make_response, redirect, render_template, request


def is_fragment_request() -> bool:
    """True for an htmx request that wants a fragment; boosted navigations are whole pages."""
    headers = request.headers
    return headers.get("HX-Request") == "true" and headers.get("HX-Boosted") != "true"


def render(page: str, fragment: str | None = None, status: int = 200, **context: Any):
    """Render `fragment` for htmx fragment requests, else the whole `page`; always `Vary`."""
    template = fragment if fragment and is_fragment_request() else page
    resp = make_response(render_template(template, **context), status)
    resp.headers["Vary"] = "HX-Request, HX-Boosted"
    return resp


def go(url: str):
    """Redirect, in a way htmx follows with a full navigation too."""
    if request.headers.get("HX-Request") == "true":
        resp = make_response("", 204)
        resp.headers["HX-Redirect"] = url
        return resp
    return redirect(url)
