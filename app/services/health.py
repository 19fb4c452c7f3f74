"""Health checks with real round trips: database, Redis, workers, websockets, request metrics."""

from __future__ import annotations

import time
from typing import Any

import redis
from sqlalchemy import text

from app.errors import iso, utcnow
from app.extensions import db, get_redis
from app.services import metrics

STARTED = time.time()
SLOW_MS = 1000.0


def basic() -> dict[str, Any]:
    from flask import current_app

    return {"status": "healthy", "timestamp": iso(utcnow()),
            "uptime": int(time.time() - STARTED), "version": current_app.config["VERSION"]}


def _timed(fn) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, round((time.perf_counter() - start) * 1000.0, 2)


def check_database() -> dict[str, Any]:
    try:
        _, ms = _timed(lambda: db.session.execute(text("SELECT 1")).scalar())
        db.session.rollback()
    except Exception as exc:  # noqa: BLE001 - any failure is "unhealthy", with its reason
        db.session.rollback()
        return {"status": "unhealthy", "error": type(exc).__name__}
    pool = db.engine.pool
    size = _call(pool, "size")
    checked_out = _call(pool, "checkedout")
    checked_in = _call(pool, "checkedin")
    return {
        "status": "degraded" if ms > SLOW_MS else "healthy",
        "response_time": ms,
        "dialect": db.engine.dialect.name,
        "connections": {"active": checked_out, "idle": checked_in,
                        "total": (checked_out or 0) + (checked_in or 0), "pool_size": size},
    }


def _call(obj: Any, name: str) -> int | None:
    fn = getattr(obj, name, None)
    try:
        return int(fn()) if callable(fn) else None
    except Exception:  # noqa: BLE001 - pools without counters report None
        return None


def check_redis() -> dict[str, Any]:
    try:
        info, ms = _timed(lambda: get_redis().info())
    except (redis.RedisError, OSError) as exc:
        return {"status": "unhealthy", "error": type(exc).__name__}
    return {
        "status": "degraded" if ms > SLOW_MS else "healthy",
        "response_time": ms,
        "memory_usage": info.get("used_memory_human"),
        "connected_clients": info.get("connected_clients"),
        "version": info.get("redis_version"),
    }


def check_workers() -> dict[str, Any]:
    from rq import Worker

    try:
        workers = Worker.all(connection=get_redis())
    except (redis.RedisError, OSError) as exc:
        return {"status": "unhealthy", "error": type(exc).__name__}
    busy = sum(1 for w in workers if w.get_state() == "busy")
    return {"status": "healthy" if workers else "degraded", "total": len(workers),
            "active": busy, "idle": len(workers) - busy}


def check_websocket(redis_ok: bool) -> dict[str, Any]:
    if not redis_ok:
        return {"status": "unhealthy", "active_connections": None}
    return {"status": "healthy", "active_connections": metrics.websocket_connections()}


def detailed() -> tuple[dict[str, Any], int]:
    """The detailed report and its HTTP status (200 only when everything is healthy)."""
    checks = {"database": check_database(), "redis": check_redis()}
    redis_ok = checks["redis"]["status"] != "unhealthy"
    checks["workers"] = check_workers() if redis_ok else {"status": "unhealthy"}
    checks["websocket"] = check_websocket(redis_ok)
    try:
        request_metrics = metrics.request_summary() if redis_ok else None
    except (redis.RedisError, OSError):
        request_metrics = None
    states = {c["status"] for c in checks.values()}
    if checks["database"]["status"] == "unhealthy" or not redis_ok:
        status = "unhealthy"
    elif states != {"healthy"}:
        status = "degraded"
    else:
        status = "healthy"
    report = {"status": status, "timestamp": iso(utcnow()),
              "uptime": int(time.time() - STARTED), "checks": checks,
              "metrics": request_metrics}
    return report, 200 if status == "healthy" else 503
