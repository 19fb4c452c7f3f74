"""Webhook jobs (queue `high`): fan an event out to deliveries, and make one delivery attempt.

`post` is the HTTP client: one POST with a hard overall deadline. A receiver that accepts the
connection and then hangs, or trickles its answer, is cut off after WEBHOOK_TIMEOUT seconds by
shutting the socket down, so it can never hold a worker longer than that.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from app.services import webhook_delivery as webhooks
from app.services import webhook_targets

EXCERPT = 1000


@dataclass
class PostResult:
    status_code: int | None
    duration_ms: float
    error: str | None
    excerpt: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def fanout_event(event: dict[str, Any]) -> int:
    return len(webhooks.fanout(event))


def deliver(delivery_id: str) -> str:
    return webhooks.deliver(uuid.UUID(delivery_id), post)


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> PostResult:
    """POST `body` to `url`; never takes (much) longer than `timeout` seconds in total."""
    parts = urlsplit(url)
    https = parts.scheme == "https"
    try:
        addresses = webhook_targets.resolve(parts.hostname or "", parts.port or (443 if https
                                                                                  else 80))
    except webhook_targets.Refused as exc:
        return PostResult(None, 0.0, f"refused: {exc}", None)
    cls = http.client.HTTPSConnection if https else http.client.HTTPConnection
    conn = cls(parts.hostname, parts.port, timeout=timeout)
    # Connect to the addresses just checked, not to a fresh lookup of the name (TLS still
    # verifies the certificate against the name). `_create_connection` is http.client's hook.
    conn._create_connection = (  # type: ignore[attr-defined]
        lambda address, timeout=None, source=None: webhook_targets.connect(
            addresses, address[1], timeout, source))
    expired = threading.Event()

    def cut_off() -> None:
        expired.set()
        sock = conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    timer = threading.Timer(timeout, cut_off)
    timer.daemon = True
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    started = time.perf_counter()
    status, error, excerpt = None, None, None
    timer.start()
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        status = response.status
        excerpt = response.read(EXCERPT).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as exc:
        if status is None:  # an answer whose body we could not read still counts
            error = f"{type(exc).__name__}: {exc}".strip()
    finally:
        timer.cancel()
        conn.close()
    duration = round((time.perf_counter() - started) * 1000.0, 2)
    if expired.is_set() and status is None:
        error = f"timed out after {timeout:g}s"
    elif status is not None and not 200 <= status < 300:
        error = error or f"HTTP {status}"
    return PostResult(status, duration, error, excerpt)
