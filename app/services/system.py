"""Maintenance mode and system information."""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import current_app

from app.errors import iso, utcnow
from app.extensions import db
from app.models.system import SystemSetting

_MAINTENANCE = "maintenance"
_CACHE_SECONDS = 1.0
_cache: dict[str, Any] = {}
_cache_lock = threading.Lock()


def maintenance_state(fresh: bool = False) -> dict[str, Any]:
    """{enabled, message, since}; read from the database at most once a second per process."""
    with _cache_lock:
        hit = _cache.get(_MAINTENANCE)
        if not fresh and hit and time.monotonic() - hit[0] < _CACHE_SECONDS:
            return hit[1]
    row = db.session.get(SystemSetting, _MAINTENANCE)
    state = dict(row.value) if row and row.value else {"enabled": False}
    with _cache_lock:
        _cache[_MAINTENANCE] = (time.monotonic(), state)
    return state


def set_maintenance(enabled: bool, message: str | None = None, by: str | None = None
                    ) -> dict[str, Any]:
    """Switch maintenance mode on or off for every process, and announce it."""
    from app.services import events

    state = {"enabled": enabled, "message": message if enabled else None,
             "since": iso(utcnow()) if enabled else None, "by": by}
    row = db.session.get(SystemSetting, _MAINTENANCE)
    if row is None:
        row = SystemSetting(key=_MAINTENANCE)
        db.session.add(row)
    row.value = state
    events.emit("system.maintenance", {"enabled": enabled, "message": message, "by": by})
    db.session.commit()
    with _cache_lock:
        _cache.pop(_MAINTENANCE, None)
    return state


def system_info() -> dict[str, Any]:
    """Version, environment, features and limits, all from configuration."""
    cfg = current_app.config
    return {
        "version": cfg["VERSION"],
        "environment": cfg["ENVIRONMENT"],
        "features": {
            "websocket_enabled": True,
            "redis_enabled": True,
            "monitoring_enabled": True,
            "rq_dashboard": True,
            "executors": ["claude", "shell"],
            "maintenance_mode": maintenance_state()["enabled"],
        },
        "limits": {
            "max_tasks_per_project": cfg["MAX_TASKS_PER_PROJECT"],
            "max_concurrent_tasks": cfg["MAX_CONCURRENT_TASKS"],
            "max_file_size": _human_bytes(cfg["MAX_OUTPUT_BYTES"]),
            "max_request_size": _human_bytes(cfg["MAX_CONTENT_LENGTH"]),
            "max_queue_length": cfg["MAX_QUEUE_LENGTH"],
            "rate_limits": {"anonymous": cfg["RATELIMIT_ANONYMOUS"],
                            "user": cfg["RATELIMIT_USER"],
                            "premium": cfg["RATELIMIT_PREMIUM"]},
            "websocket_connections_per_user": cfg["WS_MAX_CONNECTIONS_PER_USER"],
        },
    }


def _human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{round(n, 1):g}{unit}"
        n /= 1024
    return f"{n}GB"
