"""Exact list totals without a COUNT over every matching row on every request.

Why: with 100,000 tasks the task list's `total` (a COUNT over all matches) cost more than the
whole rest of the request (bench/task_list.py). Totals only change when tasks, their tags,
projects or memberships change, so they are cached in Redis, per filter, under the change
versions of the projects they cover (`app.services.versions`): a total cached before a write
is never served once that write is committed.

A total is served only when no write is marked on any of its scopes and their versions are
those it was stored with; a freshly counted total is stored only if, after counting, the
versions have not moved and no write is marked. One Lua script (one round trip) checks and
reads; the same script checks and stores. Redis unavailable: totals are counted in SQL and
nothing is stored. Entries expire after TTL seconds in any case.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections.abc import Callable, Hashable, Iterable

import redis
from flask import current_app

from app.extensions import get_redis
from app.services import versions
from app.services.versions import ALL, EPOCH  # noqa: F401 - the scopes callers name

log = logging.getLogger(__name__)
TTL = 60  # seconds a cached total lives at most

_SCRIPT = versions.SIGNATURE_LUA + """
local s = signature(2)
if not s then return {0} end
if ARGV[2] == 'get' then
  local cached = redis.call('GET', KEYS[1])
  if cached then
    local at = string.find(cached, '|', 1, true)
    if at and string.sub(cached, 1, at - 1) == s then
      return {1, s, string.sub(cached, at + 1)}
    end
  end
  return {2, s}
end
if s == ARGV[3] then
  redis.call('SET', KEYS[1], s .. '|' .. ARGV[4], 'EX', tonumber(ARGV[5]))
end
return {3}
"""


def cached_count(scopes: Iterable[str], key: Hashable, compute: Callable[[], int]) -> int:
    """`compute()`, or the cached total for `key` while none of `scopes` changed.

    `scopes` are version scopes (`versions.project_scope(id)` or ALL); EPOCH is added. `key`
    is a hashable value whose repr, with the scopes, fully determines the total."""
    keys = _redis_keys(_database_tag(), tuple(sorted(set(scopes))), key)
    script = current_app.extensions.get("count_cache_script")
    if script is None:
        script = current_app.extensions["count_cache_script"] = get_redis().register_script(
            _SCRIPT)
    try:
        found = script(keys=keys, args=[time.time(), "get"])
    except redis.RedisError:
        log.debug("count cache unavailable; counting in SQL")
        return compute()
    if found[0] == 1:
        return int(found[2])
    total = compute()
    if found[0] == 2:
        try:
            script(keys=keys, args=[time.time(), "put", found[1], total, TTL])
        except redis.RedisError:
            pass
    return total


@functools.lru_cache(maxsize=1024)
def _redis_keys(database: str, scopes: tuple[str, ...], key: Hashable) -> list[str]:
    """The entry's key, then the version and marks keys of its scopes (built once per key)."""
    names = [EPOCH, *scopes]
    digest = hashlib.sha256(repr((database, names, key)).encode()).hexdigest()[:32]
    return [f"cc:{digest}", *versions.read_keys(names)]


def _database_tag() -> str:
    """Which database a total belongs to (several apps may share one Redis)."""
    tag = current_app.extensions.get("count_cache_tag")
    if tag is None:
        from app.extensions import db

        url = db.engine.url.render_as_string(hide_password=True)
        tag = hashlib.sha256(url.encode()).hexdigest()[:12]
        current_app.extensions["count_cache_tag"] = tag
    return tag
