"""Request and websocket counters kept in Redis, so that every web process adds up.

Requests are counted in one-second buckets (count, total milliseconds, errors) that expire after
two minutes; health reads the last 60. Websocket counts are one key per process with a TTL, so a
crashed process stops counting within a minute instead of leaking forever.
"""

from __future__ import annotations

import logging
import os
import socket
import time

import redis

from app.extensions import get_redis

log = logging.getLogger(__name__)
WINDOW = 60
_PREFIX = "metrics:req:"
WS_PREFIX = "metrics:ws:"


def record_request(duration_ms: float, status: int) -> None:
    """Count one finished `/api` request; a Redis failure is logged, never raised."""
    key = f"{_PREFIX}{int(time.time())}"
    try:
        pipe = get_redis().pipeline(transaction=False)
        pipe.hincrby(key, "count", 1)
        pipe.hincrbyfloat(key, "ms", round(duration_ms, 3))
        if status >= 500:
            pipe.hincrby(key, "errors", 1)
        pipe.expire(key, 2 * WINDOW)
        pipe.execute()
    except redis.RedisError:
        log.debug("request metrics not recorded: Redis unavailable")


def request_summary() -> dict[str, float]:
    """Requests in the last minute, their average duration (ms) and the share that were 5xx."""
    now = int(time.time())
    pipe = get_redis().pipeline(transaction=False)
    for second in range(now - WINDOW + 1, now + 1):
        pipe.hgetall(f"{_PREFIX}{second}")
    count = errors = 0
    total_ms = 0.0
    for bucket in pipe.execute():
        count += int(bucket.get(b"count", 0))
        errors += int(bucket.get(b"errors", 0))
        total_ms += float(bucket.get(b"ms", 0.0))
    return {
        "requests_per_minute": count,
        "average_response_time": round(total_ms / count, 2) if count else 0.0,
        "error_rate": round(errors / count, 4) if count else 0.0,
    }


def process_key() -> str:
    return f"{WS_PREFIX}{socket.gethostname()}:{os.getpid()}"


def set_process_websockets(count: int, ttl: int = 60) -> None:
    """Publish this process's open socket count (the hub refreshes it while it runs)."""
    get_redis().set(process_key(), count, ex=ttl)


def websocket_connections() -> int:
    """Open sockets across all web processes."""
    r = get_redis()
    keys = list(r.scan_iter(match=f"{WS_PREFIX}*", count=500))
    return sum(int(v) for v in r.mget(keys) if v is not None) if keys else 0
