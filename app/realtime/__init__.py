"""Realtime: the `/ws/{session_id}` socket, the per-process pub/sub hub, and webhook dispatch.

`register_realtime(app)` wires it in every process (web, worker, CLI): the socket route, the
webhook sink on the event function, and what the hub does periodically once a web process
starts it (on its first socket, so workers and CLI commands never run hub threads).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "WS_AUTH_TIMEOUT": 10.0,          # seconds to send `authenticate` (CONTRACT §6)
    "WS_MAX_PENDING": 1000.0,         # messages queued for one client before it is dropped
    "WS_SEND_TIMEOUT": 10.0,          # one write blocked this long: the client is cut off
    "WS_PERFORMANCE_INTERVAL": 5.0,   # seconds between performance_data messages
    "WS_PING_INTERVAL": 25.0,         # the socket's own loop pings; no answer by the next: close
    # No simple_websocket ping thread: its pings could land inside a frame we are writing.
    "SOCK_SERVER_OPTIONS": {"max_message_size": 64 * 1024},
}


def register_realtime(app: Flask) -> None:
    from app.realtime.routes import bp
    from app.services import events, worktree_cleanup
    from app.services import webhook_delivery as webhooks

    for key, value in DEFAULTS.items():  # app config, else the environment, else the default
        env = os.environ.get(key)
        if env not in (None, "") and isinstance(value, float):
            value = float(env)
        app.config.setdefault(key, value)
    app.register_blueprint(bp)
    from app.realtime.pages_socket import register_pages_socket

    register_pages_socket(app)  # /ws/pages: the HTML pages' socket (issue 6B)
    events.add_sink(webhooks.sink)
    events.add_sink(worktree_cleanup.sink)
    app.extensions.setdefault("realtime_hub_setup", []).append(_setup_hub)


def _setup_hub(hub) -> None:
    """Periodic work of a running hub (ticker thread, inside an app context)."""
    from app.realtime import housekeeping

    cfg = hub.app.config
    hub.add_periodic("performance", lambda: float(cfg["WS_PERFORMANCE_INTERVAL"]),
                     housekeeping.broadcast_performance)
    hub.add_periodic("watchdog", 1.0,
                     lambda h: h.watchdog(float(h.app.config["WS_SEND_TIMEOUT"])))
    hub.add_periodic("counters", 10.0, housekeeping.refresh_counters)
    hub.add_periodic("sessions", 60.0, housekeeping.keep_sessions_alive)
    hub.add_reconnect_hook(housekeeping.announce_redis_recovery)
