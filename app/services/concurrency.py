"""Per-project concurrency (`resource_limits.max_concurrent_tasks`) with Redis leases.

Each project has a sorted set of leases (member = execution id, score = expiry) and a FIFO list
of executions waiting for a slot. Both scripts run atomically in Redis, so the cap holds however
many workers race for it:

- `acquire`: a run may take a free slot only if nobody waits ahead of it; otherwise it joins the
  waiting list (once) and its job ends without running.
- `release_and_promote` / `promote`: when a slot frees, the head waiters get *reservations* (a
  lease with a reservation TTL) and their jobs are queued again at the front of their queue; the
  reserved run's `acquire` then finds its lease. Newcomers can never overtake a waiter.

Leases expire: a running worker refreshes its lease with its heartbeat, so a worker that dies
(SIGKILL) frees its slot within `ENGINE_HEARTBEAT_TTL` seconds even if nobody reaps it.
"""

from __future__ import annotations

import time
import uuid

from flask import current_app

from app.extensions import get_redis
from app.models.project import Project

RESERVATION_TTL = 120

_ACQUIRE = """
local now = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
  return 1
end
local head = redis.call('LINDEX', KEYS[2], 0)
if ((not head) or head == ARGV[1]) and redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  if head == ARGV[1] then redis.call('LPOP', KEYS[2]) end
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
  return 1
end
if not redis.call('LPOS', KEYS[2], ARGV[1]) then redis.call('RPUSH', KEYS[2], ARGV[1]) end
return 0
"""

_PROMOTE = """
local now = tonumber(ARGV[3])
if ARGV[1] ~= '' then redis.call('ZREM', KEYS[1], ARGV[1]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local out = {}
while redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) do
  local m = redis.call('LPOP', KEYS[2])
  if not m then break end
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), m)
  table.insert(out, m)
end
return out
"""


def leases_key(project_id: uuid.UUID | str) -> str:
    return f"engine:slots:{project_id}"


def waiting_key(project_id: uuid.UUID | str) -> str:
    return f"engine:waiting:{project_id}"


def limit_for(project: Project | None) -> int:
    """The project's cap, else the server-wide MAX_CONCURRENT_TASKS."""
    default = int(current_app.config.get("MAX_CONCURRENT_TASKS", 10))
    raw = (project.resource_limits or {}).get("max_concurrent_tasks") if project else None
    try:
        value = int(raw) if raw is not None else default
    except (TypeError, ValueError):
        value = default
    return max(value, 1)


def acquire(project_id: uuid.UUID | str, execution_id: uuid.UUID | str, limit: int,
            ttl: int) -> bool:
    """Take (or keep) a slot; False means the run now waits in the project's line."""
    script = get_redis().register_script(_ACQUIRE)
    got = script(keys=[leases_key(project_id), waiting_key(project_id)],
                 args=[str(execution_id), limit, time.time(), ttl])
    return bool(got)


def refresh(project_id: uuid.UUID | str, execution_id: uuid.UUID | str, ttl: int) -> None:
    get_redis().zadd(leases_key(project_id), {str(execution_id): time.time() + ttl}, xx=True)


def release_and_promote(project_id: uuid.UUID | str, execution_id: uuid.UUID | str | None,
                        limit: int) -> list[uuid.UUID]:
    """Free `execution_id`'s slot (if any) and reserve free slots for the head waiters."""
    script = get_redis().register_script(_PROMOTE)
    promoted = script(keys=[leases_key(project_id), waiting_key(project_id)],
                      args=[str(execution_id or ""), limit, time.time(), RESERVATION_TTL])
    return [uuid.UUID(m.decode() if isinstance(m, bytes) else m) for m in promoted]


def forget(project_id: uuid.UUID | str, execution_id: uuid.UUID | str) -> None:
    """Drop a run from the line and from the leases (cancelled, cleared)."""
    pipe = get_redis().pipeline(transaction=False)
    pipe.lrem(waiting_key(project_id), 0, str(execution_id))
    pipe.zrem(leases_key(project_id), str(execution_id))
    pipe.execute()


def holders(project_id: uuid.UUID | str) -> list[str]:
    r = get_redis()
    r.zremrangebyscore(leases_key(project_id), "-inf", time.time())
    return [m.decode() for m in r.zrange(leases_key(project_id), 0, -1)]


def waiting(project_id: uuid.UUID | str) -> list[str]:
    return [m.decode() for m in get_redis().lrange(waiting_key(project_id), 0, -1)]


def projects_with_waiters() -> list[str]:
    return [k.decode().rsplit(":", 1)[1]
            for k in get_redis().scan_iter(match="engine:waiting:*", count=500)]
