"""The three RQ queues: names, enqueueing runs, pause state, positions and estimates.

Jobs are plain RQ jobs (`app.jobs.tasks.run_execution`, `app.jobs.commands.run_command`) that
take the id of what they run. A run's current job id is kept in Redis (`run_control.set_job`),
so cancelling, clearing and re-prioritising can find it. Pausing is per queue and loses nothing:
workers skip a paused queue when they dequeue (app.jobs.worker), its jobs stay where they are.
"""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any

import redis
from flask import current_app
from rq import Queue, Worker
from rq.job import Job

from app.errors import AppError, iso, utcnow
from app.extensions import get_redis
from app.jobs import QUEUES
from app.services import run_control

PAUSED = "engine:paused"
JOB_FUNCS = {"execution": "app.jobs.tasks.run_execution",
             "command": "app.jobs.commands.run_command"}
JOB_PREFIX = {"execution": "exec", "command": "cmd"}
# A finished job is left to expire after this many seconds rather than deleted at once: RQ's
# immediate delete (result_ttl=0) costs several more round trips per run (~0.6 ms of a
# ~7 ms run in bench/dispatch.py). The outcome lives in the database; nothing reads the job.
RESULT_TTL = 10
ALIASES = {f"{q}_priority": q for q in QUEUES}


def normalize(name: str | None) -> str:
    """`high` or `high_priority` (the reference's spelling) -> `high`; else 404 QUEUE_NOT_FOUND."""
    value = (name or "").strip().lower()
    value = ALIASES.get(value, value)
    if value not in QUEUES:
        raise AppError("QUEUE_NOT_FOUND", f"No queue named {name!r}; queues: "
                       f"{', '.join(QUEUES)} (or high_priority, normal_priority, low_priority)",
                       {"field": "queue_name", "issue": "unknown queue"})
    return value


def display_name(queue: str) -> str:
    return f"{queue}_priority"


def rq_queue(name: str, connection: redis.Redis | None = None) -> Queue:
    return Queue(name, connection=connection or get_redis())


def check_capacity(queue: str) -> None:
    """503 SYSTEM_OVERLOADED when Redis does not answer, 503 QUEUE_FULL past the bound."""
    limit = int(current_app.config.get("MAX_QUEUE_LENGTH", 10000))
    try:
        size = get_redis().llen(rq_queue(queue).key)
    except (redis.RedisError, OSError) as exc:
        raise AppError("SYSTEM_OVERLOADED", "The job queue (Redis) is unreachable; nothing was "
                       "queued, try again later") from exc
    if size >= limit:
        raise AppError("QUEUE_FULL", f"Queue '{queue}' already holds {size} jobs (limit {limit})",
                       {"queue": queue, "size": size, "limit": limit})


def enqueue_run(owner_type: str, owner_id: uuid.UUID | str, queue: str, *,
                at_front: bool = False, description: str | None = None) -> str:
    """Queue the job that runs an execution or a command; returns the RQ job id."""
    job_id = f"{JOB_PREFIX[owner_type]}-{owner_id}-{secrets.token_hex(3)}"
    rq_queue(queue).enqueue_call(
        JOB_FUNCS[owner_type], args=(str(owner_id),), job_id=job_id, timeout=-1,
        result_ttl=RESULT_TTL, failure_ttl=7 * 24 * 3600, at_front=at_front,
        description=description or f"{owner_type} {owner_id}")
    run_control.set_job(run_control.owner_key(owner_type, owner_id), job_id)
    return job_id


def remove_run(owner_type: str, owner_id: uuid.UUID | str) -> bool:
    """Take a run's queued job out of whichever queue holds it (and delete the job)."""
    key = run_control.owner_key(owner_type, owner_id)
    removed = run_control.drop_delayed(key)
    job_id = run_control.job_of(key)
    if not job_id:
        return removed
    r = get_redis()
    for name in QUEUES:
        if r.lrem(rq_queue(name).key, 0, job_id):
            removed = True
    try:
        Job.fetch(job_id, connection=r).delete(remove_from_queue=False)
    except Exception:  # noqa: BLE001, S110 - already gone (finished, or deleted by a clear)
        pass
    return removed


def move_run(owner_type: str, owner_id: uuid.UUID | str, old: str, new: str) -> bool:
    """Move a queued job to the end of another queue, keeping the job; False if not queued."""
    key = run_control.owner_key(owner_type, owner_id)
    if run_control.set_delayed_queue(key, new):
        return True
    job_id = run_control.job_of(key)
    r = get_redis()
    if not job_id or not r.lrem(rq_queue(old).key, 0, job_id):
        return False
    pipe = r.pipeline()
    pipe.hset(Job.key_for(job_id), "origin", new)
    pipe.rpush(rq_queue(new).key, job_id)
    pipe.sadd(Queue.redis_queues_keys, rq_queue(new).key)
    pipe.execute()
    return True


def position(owner_type: str, owner_id: uuid.UUID | str, queue: str) -> int | None:
    """1-based place in dequeue order (higher queues first), None when not in a queue."""
    job_id = run_control.job_of(run_control.owner_key(owner_type, owner_id))
    if not job_id:
        return None
    r = get_redis()
    ahead = 0
    for name in QUEUES:
        key = rq_queue(name).key
        if name == queue:
            index = r.lpos(key, job_id)
            return None if index is None else ahead + index + 1
        ahead += r.llen(key)
    return None


# ---- pause state -------------------------------------------------------------------------

def paused() -> dict[str, dict[str, Any]]:
    """{queue: {reason, by, since}} for the paused queues."""
    raw = get_redis().hgetall(PAUSED)
    return {k.decode(): json.loads(v) for k, v in raw.items()}


def paused_names(connection: redis.Redis) -> set[str]:
    return {k.decode() for k in connection.hkeys(PAUSED)}


def set_paused(queue: str, reason: str | None, by: str | None) -> dict[str, Any]:
    state = {"reason": reason, "by": by, "since": iso(utcnow())}
    get_redis().hset(PAUSED, queue, json.dumps(state))
    return state


def clear_paused(queue: str) -> bool:
    return bool(get_redis().hdel(PAUSED, queue))


# ---- workers -------------------------------------------------------------------------------

def workers_summary() -> dict[str, int]:
    """Registered RQ workers that are alive: busy ones are active, the rest idle."""
    workers = Worker.all(connection=get_redis())
    now = utcnow()
    alive = [w for w in workers
             if w.last_heartbeat is None or (now - _aware(w.last_heartbeat)).total_seconds() < 600]
    busy = sum(1 for w in alive if w.get_state() == "busy")
    return {"active": busy, "idle": len(alive) - busy, "total": len(alive)}


def _aware(dt):
    from datetime import UTC

    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def sizes() -> dict[str, int]:
    pipe = get_redis().pipeline(transaction=False)
    for name in QUEUES:
        pipe.llen(rq_queue(name).key)
    return dict(zip(QUEUES, pipe.execute(), strict=True))


def processing() -> dict[str, int]:
    return {name: rq_queue(name).started_job_registry.count for name in QUEUES}
