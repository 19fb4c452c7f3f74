"""htmx helpers: one place decides fragment vs full page, and redirects that htmx follows."""

from __future__ import annotations

from typing import Any

from flask import make_response, redirect, render_template, request


def is_fragment_request() -> bool:
    """True for an htmx request that wants a fragment. Boosted navigations are whole pages, and so
    is a history restore: when htmx has no snapshot of a pushed URL it refetches it with
    `HX-History-Restore-Request` and swaps the answer into <body>."""
    headers = request.headers
    return (headers.get("HX-Request") == "true" and headers.get("HX-Boosted") != "true"
            and headers.get("HX-History-Restore-Request") != "true")


def render(page: str, fragment: str | None = None, status: int = 200, /, **context: Any):
    """Render `fragment` for htmx fragment requests, else the whole `page`; always `Vary`.

    Positional-only, so templates may use `page` and `status` as context names."""
    template = fragment if fragment and is_fragment_request() else page
    resp = make_response(render_template(template, **context), status)
    resp.headers["Vary"] = "HX-Request, HX-Boosted, HX-History-Restore-Request"
    return resp


def go(url: str):
    """Redirect, in a way htmx follows with a full navigation too."""
    if request.headers.get("HX-Request") == "true":
        resp = make_response("", 204)
        resp.headers["HX-Redirect"] = url
        return resp
    return redirect(url)
