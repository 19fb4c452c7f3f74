"""Which Redis this process talks to: `REDIS_URL`, else the embedded one (CONTRACT §1)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import redis

from app.embedded_redis import EmbeddedRedis

log = logging.getLogger(__name__)
_lock = threading.Lock()
_owned: EmbeddedRedis | None = None


def embedded_dir(instance_path: str | Path) -> Path:
    return Path(instance_path) / "redis"


def resolve_redis_url(configured: str | None, instance_path: str | Path) -> str:
    """`configured` when set; else the embedded Redis of `make run` if it is up; else start one
    that this process owns (and stops at exit), so a lone `flask ...` command still works."""
    global _owned
    if configured:
        return configured
    with _lock:
        if _owned is not None:
            return _owned.url
        server = EmbeddedRedis(embedded_dir(instance_path), persist=True)
        if server.socket.exists():
            try:
                redis.Redis.from_url(server.url, socket_connect_timeout=1).ping()
                return server.url
            except (redis.ConnectionError, OSError):
                pass
        log.info("REDIS_URL unset: starting an embedded Redis under %s", server.directory)
        server.start()
        _owned = server
        return server.url
