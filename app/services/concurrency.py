"""Per-project concurrency (`resource_limits.max_concurrent_tasks`) with Redis leases.

Each project has a sorted set of leases (member = execution id, score = expiry) and a line of
executions waiting for a slot (a sorted set: higher queue first, then submission time). Both
scripts run atomically in Redis, so the cap holds however many workers race for it:

- `acquire`: a run may take a free slot only if nobody waits ahead of it; otherwise it joins the
  line (once) and its job ends without running. Runs that reach workers at the same instant
  while a slot is free race for it; every run that had to wait then goes in line order.
- `release_and_promote` / `promote`: when a slot frees, the head waiters get *reservations* (a
  lease with a reservation TTL) and their jobs are queued again at the front of their queue; the
  reserved run's `acquire` then finds its lease. Newcomers can never overtake a waiter.

Leases expire: a running worker refreshes its lease with its heartbeat (for three heartbeat
TTLs, longer than a reaper waits before it calls a silent run lost), so a worker that dies
(SIGKILL) frees its slot when it is reaped, or within three `ENGINE_HEARTBEAT_TTL`s even if
nobody reaps it.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis
from flask import current_app

from app.extensions import get_redis
from app.models.project import Project

RESERVATION_TTL = 120

# Take a slot (1) or join the line (0). When the slot is taken and KEYS[3] is given, also
# register the run (run_control.registration: HSET KEYS[3] ARGV[6] ARGV[7]; SET KEYS[4] 1 EX
# ARGV[8]) in the same atomic step.
_ACQUIRE = """
local function take()
  local now = tonumber(ARGV[3])
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
    return true
  end
  local first = redis.call('ZRANGE', KEYS[2], 0, 0)
  local head = first[1]
  if ((not head) or head == ARGV[1]) and redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
    if head == ARGV[1] then redis.call('ZREM', KEYS[2], ARGV[1]) end
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
    return true
  end
  redis.call('ZADD', KEYS[2], 'NX', tonumber(ARGV[5]), ARGV[1])
  return false
end
if not take() then return 0 end
if KEYS[3] then
  redis.call('HSET', KEYS[3], ARGV[6], ARGV[7])
  redis.call('SET', KEYS[4], '1', 'EX', tonumber(ARGV[8]))
end
return 1
"""

# The run that just ended (ARGV[1]) also leaves the line, if it was in it (`forget`).
_PROMOTE = """
local now = tonumber(ARGV[3])
if ARGV[1] ~= '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local out = {}
while redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) do
  local popped = redis.call('ZPOPMIN', KEYS[2])
  local m = popped[1]
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


def limit_of(project_id: uuid.UUID | str) -> int:
    """`limit_for` with one light query (no relationships loaded)."""
    from sqlalchemy import select

    from app.extensions import db

    limits = db.session.scalar(select(Project.resource_limits).where(
        Project.id == uuid.UUID(str(project_id))))
    return _limit(limits)


def limit_from(limits: dict | None) -> int:
    """The cap given a project's `resource_limits` (already read), else the server default."""
    return _limit(limits)


def limit_for(project: Project | None) -> int:
    """The project's cap, else the server-wide MAX_CONCURRENT_TASKS."""
    return _limit(project.resource_limits if project else None)


def _limit(limits: dict | None) -> int:
    default = int(current_app.config.get("MAX_CONCURRENT_TASKS", 10))
    raw = (limits or {}).get("max_concurrent_tasks")
    try:
        value = int(raw) if raw is not None else default
    except (TypeError, ValueError):
        value = default
    return max(value, 1)


def line_score(queue: str, created_at) -> float:
    """Place in a project's line: higher-priority queues first, then submission time."""
    rank = {"high": 0, "normal": 1, "low": 2}.get(queue, 1)
    return rank * 1e10 + created_at.timestamp()


def acquire(project_id: uuid.UUID | str, execution_id: uuid.UUID | str, limit: int,
            ttl: int, score: float, register: tuple[list[str], list] | None = None,
            also: Callable[[Any], None] | None = None) -> bool:
    """Take (or keep) a slot; False means the run now waits in the project's line (ordered
    by `score`, see `line_score`). `register`: (keys, args) of run_control's registration
    (`run_control.registration`), done in the same atomic script only when the slot is taken,
    so a run is never announced as running while it waits. `also(pipeline)` adds commands to
    the same round trip."""
    keys = [leases_key(project_id), waiting_key(project_id)]
    args = [str(execution_id), limit, time.time(), ttl, score]
    if register is not None:
        keys += register[0]
        args += register[1]
    return bool(run_script(_ACQUIRE, keys, args, also=also))


def refresh(project_id: uuid.UUID | str, execution_id: uuid.UUID | str, ttl: int,
            client: redis.Redis | None = None) -> None:
    """Extend a running run's lease; re-take it when Redis lost it (restarted without
    persistence), so the cap still counts the run. Only the run's own heartbeat calls this, and
    it stops before the run releases its slot, so a released lease is never taken back."""
    (client or get_redis()).zadd(leases_key(project_id), {str(execution_id): time.time() + ttl})


def release_and_promote(project_id: uuid.UUID | str, execution_id: uuid.UUID | str | None,
                        limit: int, also: Callable[[Any], None] | None = None
                        ) -> list[uuid.UUID]:
    """Free `execution_id`'s slot and line place (if any) and reserve free slots for the head
    waiters. `also(pipeline)` adds commands to the same round trip."""
    return promoted_ids(run_script(
        _PROMOTE, [leases_key(project_id), waiting_key(project_id)],
        [str(execution_id or ""), limit, time.time(), RESERVATION_TTL], also=also))


def queue_release(pipe, project_id: uuid.UUID | str, execution_id: uuid.UUID | str,
                  limit: int) -> None:
    """`release_and_promote` as one command of someone else's pipeline (its result, the
    promoted ids, comes back among that pipeline's; see `promoted_ids`). Sent as EVAL with the
    script's text: Redis keeps it compiled, and it cannot fail for not being loaded."""
    pipe.eval(_PROMOTE, 2, leases_key(project_id), waiting_key(project_id),
              str(execution_id), limit, time.time(), RESERVATION_TTL)


def promoted_ids(result: Any) -> list[uuid.UUID]:
    return [uuid.UUID(m.decode() if isinstance(m, bytes) else m) for m in result or ()]


def _sha(source: str) -> str:
    return hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 - Redis names scripts so


def run_script(source: str, keys: list[str], args: list, also: Callable[[Any], None] | None
               = None) -> Any:
    """Run a Lua script by its SHA in one round trip with whatever `also(pipeline)` adds (a
    Script object in a pipeline would first ask Redis whether it is loaded: one more trip).
    Loads the script and tries again when Redis does not know it (first use, Redis restart)."""
    r = get_redis()
    sha = _sha(source)
    for attempt in (1, 2):
        pipe = r.pipeline(transaction=False)
        pipe.evalsha(sha, len(keys), *keys, *args)
        if also is not None:
            also(pipe)
        try:
            return pipe.execute()[0]
        except redis.exceptions.NoScriptError:
            if attempt == 2:
                raise
            r.script_load(source)
    raise AssertionError("unreachable")


def forget(project_id: uuid.UUID | str, execution_id: uuid.UUID | str) -> None:
    """Drop a run from the line and from the leases (cancelled, cleared)."""
    pipe = get_redis().pipeline(transaction=False)
    pipe.zrem(waiting_key(project_id), str(execution_id))
    pipe.zrem(leases_key(project_id), str(execution_id))
    pipe.execute()


def holders(project_id: uuid.UUID | str) -> list[str]:
    r = get_redis()
    r.zremrangebyscore(leases_key(project_id), "-inf", time.time())
    return [m.decode() for m in r.zrange(leases_key(project_id), 0, -1)]


def waiting(project_id: uuid.UUID | str) -> list[str]:
    return [m.decode() for m in get_redis().zrange(waiting_key(project_id), 0, -1)]


def projects_with_waiters() -> list[str]:
    return [k.decode().rsplit(":", 1)[1]
            for k in get_redis().scan_iter(match="engine:waiting:*", count=500)]
