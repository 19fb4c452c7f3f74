"""Redis bookkeeping shared by the API and the workers for runs (executions and commands).

Keys (all under `engine:`):
  engine:runs                 hash  owner key -> JSON {worker, host, pid, create_time, ...}
                                    for every run a worker has started and not yet finished
  engine:hb:<owner key>       string with a TTL, refreshed by the running worker; when it is
                                    gone while the run is still in `engine:runs`, the worker died
  engine:cancel:<owner key>   JSON {reason, by}: a cancel request the running worker acts on
  engine:job:<owner key>      the id of the RQ job currently queued for the run
  engine:delayed              zset owner key -> due time (automatic retries waiting for backoff)
  engine:delayed:queue        hash owner key -> queue name for those
An owner key is "execution:<uuid>" or "command:<uuid>".
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from typing import Any

import redis

from app.extensions import get_redis

RUNS = "engine:runs"
# What this process runs: run key -> its record (re-announced by every heartbeat, so a Redis that
# lost its data learns it again) and the run's heartbeat thread (app.jobs.common.Beat), stopped
# when the run is unregistered.
_LOCAL: dict[str, dict[str, Any]] = {}
_BEATS: dict[str, Any] = {}
DELAYED = "engine:delayed"
DELAYED_QUEUE = "engine:delayed:queue"
HOST = socket.gethostname()


def owner_key(owner_type: str, owner_id: uuid.UUID | str) -> str:
    return f"{owner_type}:{owner_id}"


def split_key(key: str) -> tuple[str, uuid.UUID]:
    owner_type, _, raw = key.partition(":")
    return owner_type, uuid.UUID(raw)


def _hb(key: str) -> str:
    return f"engine:hb:{key}"


def _cancel(key: str) -> str:
    return f"engine:cancel:{key}"


def _job(key: str) -> str:
    return f"engine:job:{key}"


def register_run(key: str, ttl: int, **info: Any) -> dict[str, Any]:
    """Announce that this process runs `key`; the heartbeat must be refreshed within `ttl`."""
    record = run_record(**info)
    _LOCAL[key] = record
    pipe = get_redis().pipeline(transaction=False)
    pipe.hset(RUNS, key, json.dumps(record, default=str))
    pipe.set(_hb(key), "1", ex=max(int(ttl), 1))
    pipe.execute()
    return record


def run_record(**info: Any) -> dict[str, Any]:
    """The record `register_run` would write for this process."""
    return {"host": HOST, "worker_pid": os.getpid(), "started": time.time(), **info}


def registration(key: str, ttl: int, record: dict[str, Any]) -> tuple[list[str], list]:
    """(keys, args) of `register_run` for a Lua script that registers the run atomically with
    something else (concurrency.acquire): HSET keys[0] args[0] args[1]; SET keys[1] 1 EX
    args[2]."""
    return [RUNS, _hb(key)], [key, json.dumps(record, default=str), max(int(ttl), 1)]


def update_run(key: str, record: dict[str, Any], pipeline: redis.client.Pipeline | None = None
               ) -> None:
    """Replace the run's record (the caller keeps it: one write, no read)."""
    _LOCAL[key] = record
    (pipeline or get_redis()).hset(RUNS, key, json.dumps(record, default=str))


def heartbeat(key: str, ttl: int, client: redis.Redis | None = None) -> None:
    """Refresh the run's heartbeat and announce its record again: after Redis lost its data
    (restarted without persistence) the run is known again from its next beat on."""
    pipe = (client or get_redis()).pipeline(transaction=False)
    pipe.set(_hb(key), "1", ex=max(int(ttl), 1))
    record = _LOCAL.get(key)
    if record is not None:
        pipe.hset(RUNS, key, json.dumps(record, default=str))
    pipe.execute()


def attach_beat(key: str, beat: Any) -> None:
    """Remember the heartbeat thread of a run of this process (stopped by `unregister_run`)."""
    old = _BEATS.pop(key, None)
    if old is not None:
        old.stop()
    _BEATS[key] = beat


def unregister_run(key: str, pipeline: redis.client.Pipeline | None = None) -> None:
    """Forget the run (its heartbeat thread stops first, so no beat can announce it again)."""
    beat = _BEATS.pop(key, None)
    if beat is not None:
        beat.stop()
    _LOCAL.pop(key, None)
    pipe = pipeline or get_redis().pipeline(transaction=False)
    pipe.hdel(RUNS, key)
    pipe.delete(_hb(key), _cancel(key), _job(key))
    if pipeline is None:
        pipe.execute()


def active_runs() -> dict[str, dict[str, Any]]:
    raw = get_redis().hgetall(RUNS)
    return {k.decode(): json.loads(v) for k, v in raw.items()}


def is_alive(key: str) -> bool:
    return bool(get_redis().exists(_hb(key)))


def request_cancel(key: str, reason: str | None, by: str | None) -> None:
    get_redis().set(_cancel(key), json.dumps({"reason": reason, "by": by}), ex=24 * 3600)


def cancel_request(key: str) -> dict[str, Any] | None:
    raw = get_redis().get(_cancel(key))
    return json.loads(raw) if raw else None


def set_job(key: str, job_id: str, pipeline: redis.client.Pipeline | None = None) -> None:
    (pipeline or get_redis()).set(_job(key), job_id, ex=30 * 24 * 3600)


def job_of(key: str) -> str | None:
    raw = get_redis().get(_job(key))
    return raw.decode() if raw else None


def schedule_delayed(key: str, queue: str, delay: float) -> None:
    pipe = get_redis().pipeline()
    pipe.hset(DELAYED_QUEUE, key, queue)
    pipe.zadd(DELAYED, {key: time.time() + max(delay, 0.0)})
    pipe.execute()


def claim_due(now: float | None = None, limit: int = 100) -> list[tuple[str, str]]:
    """Take due delayed runs off the schedule; each is returned to exactly one caller."""
    r = get_redis()
    due = r.zrangebyscore(DELAYED, "-inf", now or time.time(), start=0, num=limit)
    claimed = []
    for member in due:
        if r.zrem(DELAYED, member):
            key = member.decode()
            queue = r.hget(DELAYED_QUEUE, key)
            r.hdel(DELAYED_QUEUE, key)
            claimed.append((key, queue.decode() if queue else "normal"))
    return claimed


def drop_delayed(key: str) -> bool:
    r = get_redis()
    removed = r.zrem(DELAYED, key)
    r.hdel(DELAYED_QUEUE, key)
    return bool(removed)


def delayed_queue(key: str) -> str | None:
    raw = get_redis().hget(DELAYED_QUEUE, key)
    return raw.decode() if raw else None


def set_delayed_queue(key: str, queue: str) -> bool:
    r = get_redis()
    if r.zscore(DELAYED, key) is None:
        return False
    r.hset(DELAYED_QUEUE, key, queue)
    return True
