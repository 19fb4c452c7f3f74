"""Request and websocket counters kept in Redis, so that every web process adds up.

Requests are counted in one-second buckets (count, total milliseconds, errors) that expire after
two minutes; health reads the last 60. Each process adds its requests up in memory and sends
them at most once a second (a daemon thread, and before every read in that process), so a
request pays no Redis round trip for its metrics; other processes see them within a second.
Server errors are sent at once.
Websocket counts are one key per process with a TTL, so a crashed process stops counting within
a minute instead of leaking forever.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import time

import redis
from flask import current_app

from app.extensions import get_redis

log = logging.getLogger(__name__)
WINDOW = 60
_PREFIX = "metrics:req:"
WS_PREFIX = "metrics:ws:"
FLUSH_INTERVAL = 1.0


class RequestCounts:
    """One process's request counts per second, not yet sent to its Redis."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.lock = threading.Lock()
        self.seconds: dict[int, list[float]] = {}
        self.thread: threading.Thread | None = None
        self.pid = 0

    def add(self, duration_ms: float, status: int) -> None:
        second = int(time.time())
        with self.lock:
            bucket = self.seconds.get(second)
            if bucket is None:
                bucket = self.seconds[second] = [0, 0.0, 0]
            bucket[0] += 1
            bucket[1] += duration_ms
            bucket[2] += status >= 500
        if self.pid != os.getpid():  # first request of this process (or of a forked child)
            self.pid = os.getpid()
            self.thread = threading.Thread(target=self._run, name="request-metrics",
                                           daemon=True)
            self.thread.start()

    def flush(self) -> None:
        """Send what was counted; a Redis failure is logged and drops it, never raised."""
        with self.lock:
            seconds, self.seconds = self.seconds, {}
        if not seconds:
            return
        try:
            pipe = self.client.pipeline(transaction=False)
            for second, (count, total_ms, errors) in seconds.items():
                key = f"{_PREFIX}{second}"
                pipe.hincrby(key, "count", int(count))
                pipe.hincrbyfloat(key, "ms", round(total_ms, 3))
                if errors:
                    pipe.hincrby(key, "errors", int(errors))
                pipe.expire(key, 2 * WINDOW)
            pipe.execute()
        except redis.RedisError:
            log.debug("request metrics not recorded: Redis unavailable")

    def _run(self) -> None:
        while True:
            time.sleep(FLUSH_INTERVAL)
            self.flush()


def _counts() -> RequestCounts:
    counts = current_app.extensions.get("request_counts")
    if counts is None:
        counts = current_app.extensions["request_counts"] = RequestCounts(get_redis())
        atexit.register(counts.flush)
    return counts


def record_request(duration_ms: float, status: int) -> None:
    """Count one finished `/api` request: sent to Redis within FLUSH_INTERVAL, or at once (with
    whatever is pending) for a 5xx, so that errors show without delay."""
    counts = _counts()
    counts.add(duration_ms, status)
    if status >= 500:
        counts.flush()


def request_summary() -> dict[str, float]:
    """Requests in the last minute, their average duration (ms) and the share that were 5xx."""
    _counts().flush()
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
