"""Exact list totals without a COUNT over every matching row on every request.

Why: with 100,000 tasks the task list's `total` (a COUNT over all matches) cost more than the
whole rest of the request (bench/task_list.py). Totals only change when tasks, their tags,
projects or memberships change, so they are cached in Redis, per filter, and invalidated by
every such write. Correctness comes first: a total cached before a write must never be served
once that write is committed and visible. That is a seqlock per project, kept in Redis:

- Writers (any database session, any process: API, pages, workers, CLI). When a flush touches
  `tasks`, `task_tags`, `projects` or `project_members`, the session *marks* each project it
  touches before its transaction can commit (`cc:w:<scope>`: a sorted set, one member per
  transaction, scored by an expiry so a crashed process cannot leave a mark for ever). After
  the commit, `app.services.events` bumps each scope's version (`cc:v:<scope>`) and drops the
  mark in the same Redis pipeline that publishes the commit's events; a rollback only drops
  the mark. Every known project also marks and bumps the scope `all` (admins' unfiltered
  lists); a write whose project cannot be told (a bulk UPDATE on those tables) uses the epoch
  `*`, which every cached total depends on.
- Readers (`cached_count`). A total is served from the cache only when no transaction is
  marked on any of its scopes and the scopes' versions are those it was stored with; a freshly
  counted total is stored only if, after counting, the versions have not moved and no mark has
  appeared. One Lua script (one round trip) checks and reads; another checks and stores.
  So from the moment a write commits, either its mark is still there (no cache) or the version
  has moved (the old entry no longer matches).

Redis unavailable: readers count in SQL and store nothing. A write that could not mark or bump
(Redis down for that process only) is retried with the next write of the process, and cached
entries expire after TTL seconds in any case, which bounds that one window.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import redis
from flask import current_app
from sqlalchemy import event as sa_event
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm.util import identity_key

from app.extensions import get_redis
from app.models.project import Project, ProjectMember
from app.models.task import Task, TaskTag

log = logging.getLogger(__name__)
TTL = 60  # seconds a cached total lives at most
MARK_TTL = 120  # seconds a writer's mark protects its transaction (refreshed before commit)
EPOCH = "*"
ALL = "all"
TRACKED_TABLES = frozenset({"tasks", "task_tags", "projects", "project_members"})
_MARKS = "count_cache_marks"
_missed: set[str] = set()  # scopes this process could not bump (Redis unreachable)

_READ = """
local now = tonumber(ARGV[1])
local sig = {}
for i = 2, #KEYS, 2 do
  if redis.call('ZCOUNT', KEYS[i + 1], now, '+inf') > 0 then return {0} end
  sig[#sig + 1] = redis.call('GET', KEYS[i]) or '0'
end
local s = table.concat(sig, ':')
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


def version_key(scope: str) -> str:
    return f"cc:v:{scope}"


def marks_key(scope: str) -> str:
    return f"cc:w:{scope}"


# ---------------------------------------------------------------- readers

def cached_count(scopes: Iterable[str], key: Any, compute: Callable[[], int]) -> int:
    """`compute()`, or the cached total for `key` while none of `scopes` changed.

    `scopes` are project ids (as strings) or ALL; EPOCH is added. `key` is anything JSON can
    encode that fully determines the total given the scopes (filters, project ids)."""
    names = [EPOCH, *sorted(set(scopes))]
    raw = json.dumps([_database_tag(), names, key], default=str, sort_keys=True)
    keys = [f"cc:c:{hashlib.sha256(raw.encode()).hexdigest()[:32]}"]
    for name in names:
        keys += [version_key(name), marks_key(name)]
    script = current_app.extensions.get("count_cache_script")
    if script is None:
        script = current_app.extensions["count_cache_script"] = get_redis().register_script(_READ)
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


def _database_tag() -> str:
    """Which database a total belongs to (several apps may share one Redis)."""
    tag = current_app.extensions.get("count_cache_tag")
    if tag is None:
        from app.extensions import db

        url = db.engine.url.render_as_string(hide_password=True)
        tag = hashlib.sha256(url.encode()).hexdigest()[:12]
        current_app.extensions["count_cache_tag"] = tag
    return tag


# ---------------------------------------------------------------- writers

def _scopes_of(session: Session, obj: Any) -> set[str]:
    if isinstance(obj, Task):
        return {str(obj.project_id)} if obj.project_id else {EPOCH}
    if isinstance(obj, Project):
        return {str(obj.id)}
    if isinstance(obj, ProjectMember):
        return {str(obj.project_id)}
    if isinstance(obj, TaskTag):
        task = session.identity_map.get(identity_key(Task, obj.task_id))
        return {str(task.project_id)} if task is not None and task.project_id else {EPOCH}
    return set()


def _mark(session: Session, scopes: set[str]) -> None:
    """Mark `scopes` for this session's transaction (once each) before anything can commit."""
    state = session.info.get(_MARKS)
    if state is None:
        state = session.info[_MARKS] = {"token": uuid.uuid4().hex, "scopes": set(), "at": 0.0}
    if any(s != EPOCH for s in scopes):
        scopes = scopes | {ALL}
    new = scopes - state["scopes"]
    if not new:
        return
    state["scopes"] |= new
    _write_marks(state, new)


def _write_marks(state: dict[str, Any], scopes: Iterable[str]) -> None:
    now = time.time()
    state["at"] = now
    try:
        pipe = get_redis().pipeline(transaction=False)
        for scope in scopes:
            pipe.zremrangebyscore(marks_key(scope), "-inf", now)
            pipe.zadd(marks_key(scope), {state["token"]: now + MARK_TTL})
        pipe.execute()
    except redis.RedisError:
        log.warning("count cache: could not mark a write (Redis unavailable)")


@sa_event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    scopes: set[str] = set()
    for collection in (session.new, session.dirty, session.deleted):
        for obj in collection:
            if isinstance(obj, (Task, TaskTag, Project, ProjectMember)):
                scopes |= _scopes_of(session, obj)
    if scopes:
        _mark(session, scopes)


@sa_event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state: ORMExecuteState) -> None:
    """INSERT/UPDATE/DELETE statements on tracked tables: which projects is not known."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in TRACKED_TABLES:
        _mark(state.session, {EPOCH})


@sa_event.listens_for(Session, "before_commit")
def _refresh_old_marks(session: Session) -> None:
    """A long transaction's marks are renewed before they could expire."""
    state = session.info.get(_MARKS)
    if state and time.time() - state["at"] > MARK_TTL / 2:
        _write_marks(state, state["scopes"])


def committed(session: Session) -> dict[str, Any] | None:
    """The marks of the transaction `session` just committed (for `queue_bumps`), if any."""
    return session.info.pop(_MARKS, None)


def queue_bumps(pipe, state: dict[str, Any]) -> None:
    """Add the version bumps and mark removals of a committed transaction to `pipe`."""
    scopes = set(state["scopes"]) | _missed
    for scope in scopes:
        pipe.incr(version_key(scope))
        pipe.zrem(marks_key(scope), state["token"])


def bumps_sent(state: dict[str, Any], ok: bool) -> None:
    """Record whether the bumps of `state` reached Redis (else they go with the next write)."""
    if ok:
        _missed.clear()
    else:
        _missed.update(state["scopes"])
        log.warning("count cache: could not record a write (Redis unavailable); retried with "
                    "the next write, cached totals expire within %ss", TTL)


@sa_event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction) -> None:
    """A transaction that ended without committing drops its marks (nothing to bump)."""
    if transaction.parent is not None:
        return
    state = session.info.pop(_MARKS, None)
    if not state:
        return
    try:
        pipe = get_redis().pipeline(transaction=False)
        for scope in state["scopes"]:
            pipe.zrem(marks_key(scope), state["token"])
        pipe.execute()
    except redis.RedisError:
        pass  # the marks expire by themselves
