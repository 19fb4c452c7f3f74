"""Change versions in Redis: what lets a cache of database data never be stale once a write is
committed (a seqlock per scope). Used by the task list's totals (`count_cache`) and by the
authenticated user's row (`app.security`).

A *scope* names what a write touched: `p:<project id>` (its tasks, their tags, the project and
its members), `p:all` (any project: admins' unfiltered lists), `*` (tasks or projects changed
by a bulk statement: which ones is unknown), `u:<user id>` (one user's row), `u:*` (users
changed by a bulk statement).

- Writers (any database session, any process: API, pages, workers, CLI). When a flush touches a
  tracked table, the session *marks* each scope before its transaction can commit (`cv:w:<scope>`:
  a sorted set, one member per transaction, scored by an expiry so a crashed process cannot leave
  a mark for ever). After the commit, `app.services.events` increments each scope's version
  (`cv:v:<scope>`) and drops the mark, in the pipeline that publishes the commit's events; a
  rollback only drops the mark.
- Readers use cached data only when no mark is live on any scope it depends on and the scopes'
  versions are those the data was cached with. From the moment a write commits, either its mark
  is still there or the version has moved, so data cached before the write is never served
  after it.

Redis unavailable: readers must go to the database. A write that could not mark or bump (Redis
down for that process only) is bumped with the next write of the process; caches also expire
their entries, which bounds that one window.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import redis
from sqlalchemy import event as sa_event
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm.util import identity_key

from app.extensions import get_redis
from app.models.project import Project, ProjectMember
from app.models.task import Task, TaskTag
from app.models.user import User

log = logging.getLogger(__name__)
MARK_TTL = 120  # seconds a writer's mark protects its transaction (renewed before commit)
PREPARED_TTL = 10.0  # seconds marks made ahead of a transaction (`prepare`) stay trusted
EPOCH = "*"
ALL = "p:all"
USERS = "u:*"
BULK_SCOPES = {"tasks": EPOCH, "task_tags": EPOCH, "projects": EPOCH, "project_members": EPOCH,
               "users": USERS}
_MARKS = "version_marks"
_missed: set[str] = set()  # scopes this process could not bump (Redis unreachable)


def project_scope(project_id: uuid.UUID | str) -> str:
    return f"p:{project_id}"


def user_scope(user_id: uuid.UUID | str) -> str:
    return f"u:{user_id}"


def version_key(scope: str) -> str:
    return f"cv:v:{scope}"


def marks_key(scope: str) -> str:
    return f"cv:w:{scope}"


def read_keys(scopes: Iterable[str]) -> list[str]:
    """[version key, marks key] for each scope, in order (the layout the Lua readers expect)."""
    keys: list[str] = []
    for scope in scopes:
        keys += [version_key(scope), marks_key(scope)]
    return keys


# Lua: the versions of the scopes whose keys follow KEYS[first] (pairs of version, marks) as
# one string, or false while a write is marked on any of them. ARGV[1] is the time now. The
# string starts with this Redis data set's epoch (`cv:epoch`, made on first use): versions
# start again from 0 when Redis loses its data, and data a process copied under an old
# version must never match again.
SIGNATURE_LUA = """
local function signature(first)
  local now = tonumber(ARGV[1])
  local epoch = redis.call('GET', 'cv:epoch')
  if not epoch then
    local t = redis.call('TIME')
    redis.call('SET', 'cv:epoch', t[1] .. '.' .. t[2], 'NX')
    epoch = redis.call('GET', 'cv:epoch')
  end
  local parts = {epoch}
  for i = first, #KEYS, 2 do
    if redis.call('ZCOUNT', KEYS[i + 1], now, '+inf') > 0 then return false end
    parts[#parts + 1] = redis.call('GET', KEYS[i]) or '0'
  end
  return table.concat(parts, ':')
end
"""


# ---------------------------------------------------------------- writers

def _scopes_of(session: Session, obj: Any) -> set[str]:
    if isinstance(obj, Task):
        return {project_scope(obj.project_id)} if obj.project_id else {EPOCH}
    if isinstance(obj, Project):
        return {project_scope(obj.id)}
    if isinstance(obj, ProjectMember):
        return {project_scope(obj.project_id)}
    if isinstance(obj, TaskTag):
        task = session.identity_map.get(identity_key(Task, obj.task_id))
        return {project_scope(task.project_id)} if task is not None else {EPOCH}
    if isinstance(obj, User):
        return {user_scope(obj.id)} if obj.id else {USERS}
    return set()


def mark(session: Session, scopes: set[str]) -> None:
    """Mark `scopes` for `session`'s transaction, for writes made on its connection directly
    (which the session's hooks do not see): call before the write."""
    _mark(session, scopes)


def prepare(scopes: set[str], ttl: float = PREPARED_TTL
            ) -> tuple[dict[str, Any], Callable[[Any], None]]:
    """Marks for a transaction to come, written by `add(pipeline)` in a Redis round trip the
    caller makes anyway (the engine: in the one that takes the project slot, and in the one
    that follows the run's start); the transaction then `adopt`s them. They live `ttl`
    seconds, so a run that stops early never blocks anybody's cache for long."""
    scopes = _with_all(scopes)
    state = {"token": uuid.uuid4().hex, "scopes": set(scopes), "at": time.time(), "ttl": ttl}

    def add(pipe) -> None:
        state["at"] = time.time()
        for scope in scopes:
            pipe.zadd(marks_key(scope), {state["token"]: state["at"] + ttl})

    return state, add


def adopt(session: Session, state: dict[str, Any]) -> None:
    """Use marks made by `prepare` for `session`'s next transaction. Call before its first
    write: marks too old to be trusted until the commit are written again now, outside the
    transaction (a SQLite write lock is never held across that round trip)."""
    if _MARKS in session.info:  # marks of its own already; the prepared ones just expire
        return
    if time.time() - state["at"] > state["ttl"] / 2:
        _write_marks(state, state["scopes"])
    session.info[_MARKS] = state


def _with_all(scopes: set[str]) -> set[str]:
    return scopes | {ALL} if any(s.startswith("p:") for s in scopes) else scopes


def _mark(session: Session, scopes: set[str]) -> None:
    """Mark `scopes` for this session's transaction (once each) before anything can commit."""
    state = session.info.get(_MARKS)
    if state is None:
        state = session.info[_MARKS] = {"token": uuid.uuid4().hex, "scopes": set(),
                                         "at": time.time(), "ttl": MARK_TTL}
    new = _with_all(scopes) - state["scopes"]
    if not new:
        return
    state["scopes"] |= new
    _write_marks(state, new, renew=False)


def _write_marks(state: dict[str, Any], scopes: Iterable[str], renew: bool = True) -> None:
    """ZADD the marks; `renew`: all of the state's marks get a fresh expiry (and its time)."""
    now = time.time()
    if renew:
        state["at"] = now
    try:
        pipe = get_redis().pipeline(transaction=False)
        for scope in scopes:
            pipe.zadd(marks_key(scope), {state["token"]: now + state["ttl"]})
        pipe.execute()
    except redis.RedisError:
        _missed.update(scopes)
        log.warning("change versions: could not mark a write (Redis unavailable)")


_TRACKED = (Task, TaskTag, Project, ProjectMember, User)


@sa_event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    scopes: set[str] = set()
    for collection in (session.new, session.dirty, session.deleted):
        for obj in collection:
            if isinstance(obj, _TRACKED):
                scopes |= _scopes_of(session, obj)
    if scopes:
        _mark(session, scopes)


@sa_event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state: ORMExecuteState) -> None:
    """INSERT/UPDATE/DELETE statements on tracked tables: the scopes the statement names in
    its `version_scopes` execution option, else (which rows is not known) the table's epoch."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    scope = BULK_SCOPES.get(getattr(getattr(state.statement, "table", None), "name", None))
    if scope is not None:
        named = state.execution_options.get("version_scopes")
        _mark(state.session, set(named) if named else {scope})


@sa_event.listens_for(Session, "before_commit")
def _renew_old_marks(session: Session) -> None:
    """A long transaction's marks are renewed before they could expire."""
    state = session.info.get(_MARKS)
    if state and time.time() - state["at"] > state["ttl"] / 2:
        _write_marks(state, state["scopes"])


def committed(session: Session) -> dict[str, Any] | None:
    """The marks of the transaction `session` just committed (for `queue_bumps`), if any."""
    return session.info.pop(_MARKS, None)


# KEYS: (version key, marks key) per scope; ARGV[1]: the transaction's token, ARGV[2]: now
# when marks left expired by writers that died should go too (now and then; they are ignored
# anyway), else ''.
BUMP_LUA = """
for i = 1, #KEYS, 2 do
  redis.call('INCR', KEYS[i])
  redis.call('ZREM', KEYS[i + 1], ARGV[1])
  if ARGV[2] ~= '' then
    redis.call('ZREMRANGEBYSCORE', KEYS[i + 1], '-inf', tonumber(ARGV[2]))
  end
end
return 0
"""


def queue_bumps(pipe, state: dict[str, Any]) -> None:
    """Add the version bumps and mark removals of a committed transaction to `pipe` (one
    command: with a publish or two, a commit's whole round trip stays small)."""
    keys = read_keys(sorted(set(state["scopes"]) | _missed))
    sweep = time.time() if random.random() < 1 / 32 else ""
    pipe.eval(BUMP_LUA, len(keys), *keys, state["token"], sweep)


def bumps_sent(state: dict[str, Any], ok: bool) -> None:
    """Record whether the bumps of `state` reached Redis (else they go with the next write)."""
    if ok:
        _missed.clear()
    else:
        _missed.update(state["scopes"])
        log.warning("change versions: could not record a write (Redis unavailable); retried "
                    "with the next write")


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
