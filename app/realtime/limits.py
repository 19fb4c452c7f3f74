"""Open sockets per user across every web process (`WS_MAX_CONNECTIONS_PER_USER`, CONTRACT §6).

One Redis sorted set per user: member = connection id, score = when that entry lapses. The
process holding a socket refreshes its entries (hub ticker), so a crashed process stops
counting within `TTL` seconds instead of locking its users out forever. Check-and-add is one
Lua script, so two sockets racing for the last slot cannot both get it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from app.extensions import get_redis

TTL = 60
_PREFIX = "ws:user:"
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


def _key(user_id: str) -> str:
    return f"{_PREFIX}{user_id}"


def acquire(user_id: str, conn_id: str, cap: int) -> bool:
    """Take one of `user_id`'s `cap` slots for `conn_id`; False when all are in use."""
    now = time.time()
    script = get_redis().register_script(_ACQUIRE)
    return bool(script(keys=[_key(user_id)], args=[now, now + TTL, cap, conn_id, TTL * 2]))


def release(user_id: str, conn_id: str) -> None:
    get_redis().zrem(_key(user_id), conn_id)


def refresh(entries: Iterable[tuple[str, str]]) -> None:
    """Push back the lapse time of this process's (user_id, conn_id) entries."""
    entries = list(entries)
    if not entries:
        return
    lapse = time.time() + TTL
    pipe = get_redis().pipeline(transaction=False)
    for user_id, conn_id in entries:
        pipe.zadd(_key(user_id), {conn_id: lapse}, xx=True)
        pipe.expire(_key(user_id), TTL * 2)
    pipe.execute()


def count(user_id: str) -> int:
    r = get_redis()
    r.zremrangebyscore(_key(user_id), "-inf", time.time())
    return int(r.zcard(_key(user_id)))
