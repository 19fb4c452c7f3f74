"""Browser-side hardening headers on every response: CSP, framing, MIME sniffing, referrer.

Our pages load only their own files: vendored htmx, its WebSocket extension and Chart.js, and
static/js. So their policy allows scripts from this origin only — no inline script, no `eval`
(htmx's `hx-on` attributes and `js:` values need `eval`: use a static/js file instead); styles
from this origin plus `style` attributes (the output viewer colours 24-bit ANSI with them; an
attribute cannot run script) and htmx's own indicator `<style>`, allowed by its hash. Sockets may
connect back to this host only. No page may be framed (clickjacking), which `X-Frame-Options`
says again for older browsers.

Swagger UI (`/docs`) and rq-dashboard (`/rq`) are third-party pages built on inline scripts (and
underscore templates, which compile with `Function`); they get a looser script policy but the
same framing, object and form rules. JSON answers get a policy that loads nothing.
"""

from __future__ import annotations

import base64
import hashlib
import re

from flask import Response, request

# The <style> htmx 2 adds to <head> for `.htmx-indicator` (its defaults: indicatorClass
# "htmx-indicator", requestClass "htmx-request"; see static/vendor/htmx-2.0.11.min.js).
HTMX_INDICATOR_STYLE = (
    ".htmx-indicator{opacity:0;visibility: hidden} "
    ".htmx-request .htmx-indicator, .htmx-request.htmx-indicator"
    "{opacity:1;visibility: visible;transition: opacity 200ms ease-in}")
_INDICATOR_HASH = "'sha256-" + base64.b64encode(
    hashlib.sha256(HTMX_INDICATOR_STYLE.encode()).digest()).decode() + "'"

_COMMON = ("object-src 'none'", "base-uri 'self'", "form-action 'self'",
           "frame-ancestors 'none'")
PAGE_POLICY = ("default-src 'self'", "script-src 'self'",
               f"style-src 'self' {_INDICATOR_HASH}", "style-src-attr 'unsafe-inline'",
               "img-src 'self' data:", "font-src 'self'", *_COMMON)
THIRD_PARTY_POLICY = ("default-src 'self'", "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
                      "style-src 'self' 'unsafe-inline'", "img-src 'self' data:",
                      "connect-src 'self'", *_COMMON)
JSON_POLICY = ("default-src 'none'", "frame-ancestors 'none'")
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


def content_security_policy(path: str, host: str) -> str:
    """The policy for a response to `path` (requested on `host`)."""
    if path.startswith("/api") or path == "/openapi.json":
        return "; ".join(JSON_POLICY)
    if path.startswith(("/docs", "/rq")):
        return "; ".join(THIRD_PARTY_POLICY)
    # 'self' covers ws:/wss: to this host in current browsers; naming them helps older ones.
    sockets = f" ws://{host} wss://{host}" if _HOST.match(host or "") else ""
    return "; ".join((*PAGE_POLICY, f"connect-src 'self'{sockets}"))


def add_security_headers(response: Response) -> None:
    """Set the headers unless the view set its own."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if "Content-Security-Policy" not in headers:
        headers["Content-Security-Policy"] = content_security_policy(request.path, request.host)
