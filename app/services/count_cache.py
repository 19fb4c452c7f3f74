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
    return Lookup(scopes, key).total(compute)


class Lookup:
    """One cached total, asked for as soon as it is known which (the request is sent at once,
    the answer read by `total`): a caller can run its page query meanwhile, so the Redis round
    trip costs no extra time. `close()` when the total turns out not to be needed."""

    def __init__(self, scopes: Iterable[str], key: Hashable) -> None:
        self.keys = _redis_keys(_database_tag(), tuple(sorted(set(scopes))), key)
        self.script = current_app.extensions.get("count_cache_script")
        if self.script is None:
            self.script = get_redis().register_script(_SCRIPT)
            current_app.extensions["count_cache_script"] = self.script
        self.pool = self.script.registered_client.connection_pool
        self.conn = None
        try:
            self.conn = self.pool.get_connection()
            self.conn.send_command("EVALSHA", self.script.sha, len(self.keys), *self.keys,
                                   time.time(), "get")
        except (redis.RedisError, OSError):
            self._release(broken=True)

    def _answer(self) -> list | None:
        if self.conn is None:
            return None
        try:
            return self.conn.read_response()
        except redis.exceptions.NoScriptError:
            self._release()
            try:  # first use on this Redis: the regular call loads the script
                return self.script(keys=self.keys, args=[time.time(), "get"])
            except redis.RedisError:
                return None
        except (redis.RedisError, OSError):
            self._release(broken=True)
            return None
        finally:
            self._release()

    def _release(self, broken: bool = False) -> None:
        if self.conn is not None:
            if broken:
                self.conn.disconnect()
            self.pool.release(self.conn)
            self.conn = None

    def close(self) -> None:
        """Not needed after all: read the answer anyway (the connection goes back clean)."""
        self._answer()

    def total(self, compute: Callable[[], int]) -> int:
        found = self._answer()
        if found is None:
            log.debug("count cache unavailable; counting in SQL")
            return compute()
        if found[0] == 1:
            return int(found[2])
        total = compute()
        if found[0] == 2:
            try:
                self.script(keys=self.keys, args=[time.time(), "put", found[1], total, TTL])
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
