"""The one event function: every create, update, delete and status change goes through `emit`.

`emit()` queues the event on the current database session and publishes it on Redis pub/sub only
after that session commits (a rolled back change announces nothing). Listeners in other
processes (websocket hub, webhook dispatcher) subscribe to `EVENTS_CHANNEL`. In-process sinks
(`add_sink`) run after publishing, e.g. to enqueue webhook deliveries.

Event types (the webhook names where one exists, CONTRACT §7):
  task.created | task.updated | task.deleted | task.completed | task.failed
  project.created | project.updated | project.deleted
  execution.updated (an execution's status/fields), command.updated (a command run's status)
  system.maintenance | system.alert | notification (a message for one user: scope.user_id)
  budget.exceeded (a project's monthly budget is spent; app.services.budgets)
A `system.*` event with a `project_id` scope (a budget alert) is for that project's people only.
Scope keys say what an event concerns (project_id, task_id, execution_id, command_id,
session_id, user_id); the websocket hub routes and filters on them.

Output lines are high volume and have their own channel per owner (`output_channel`), so a web
process only receives the output somebody is watching. A producer stores a batch of lines (each
with its sequence number) and commits it BEFORE `publish_output` sends it: a subscriber that
subscribes first and then reads the stored backlog can therefore never miss a line, and drops
duplicates by `seq`. Message on `output:<owner_type>:<owner_id>`:
  {"owner_type": "execution"|"command", "owner_id": "<uuid>",
   "lines": [{"seq": 1, "stream": "stdout"|"stderr"|"system", "kind": "line"|"text"|"tool_use"|
              "tool_result"|"result"|"system", "content": "...", "data": {...}|null,
              "timestamp": "<iso>"}, ...]}
The end of a run is the `execution.updated` / `command.updated` event with a final status.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

import redis
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from app.errors import iso, utcnow
from app.extensions import db, get_redis
from app.services import versions

log = logging.getLogger(__name__)
EVENTS_CHANNEL = "events"
_PENDING = "pending_events"
_AFTER = "after_commit_redis"
_sinks: list[Callable[[dict[str, Any]], None]] = []


def output_channel(owner_type: str, owner_id: uuid.UUID | str) -> str:
    return f"output:{owner_type}:{owner_id}"


def make_event(event_type: str, data: dict[str, Any], **scope: Any) -> dict[str, Any]:
    """An event message: type, data, scope ids (project_id, task_id, user_id, ...), time, id."""
    return {
        "id": str(uuid.uuid4()),
        "event": event_type,
        "data": data,
        "scope": {k: (str(v) if v is not None else None) for k, v in scope.items()},
        "timestamp": iso(utcnow()),
    }


def emit(event_type: str, data: dict[str, Any], **scope: Any) -> dict[str, Any]:
    """Queue an event; it is published when the current session commits."""
    message = make_event(event_type, data, **scope)
    db.session().info.setdefault(_PENDING, []).append(message)
    return message


def publish(message: dict[str, Any], channel: str = EVENTS_CHANNEL) -> None:
    """Publish now (for code outside a transaction, e.g. workers); sinks run too."""
    try:
        get_redis().publish(channel, json.dumps(message, default=str))
    except redis.RedisError:
        log.warning("event %s not published: Redis unavailable", message.get("event"))
    if channel == EVENTS_CHANNEL:
        for sink in list(_sinks):
            try:
                sink(message)
            except Exception:
                log.exception("event sink %s failed", getattr(sink, "__name__", sink))


def publish_output(owner_type: str, owner_id: uuid.UUID | str,
                   lines: list[dict[str, Any]]) -> None:
    """Publish a batch of output lines that are already committed (see the module docstring)."""
    if not lines:
        return
    message = {"owner_type": owner_type, "owner_id": str(owner_id), "lines": lines}
    try:
        get_redis().publish(output_channel(owner_type, owner_id),
                            json.dumps(message, default=str))
    except redis.RedisError:
        log.warning("output of %s %s not published: Redis unavailable", owner_type, owner_id)


def add_sink(sink: Callable[[dict[str, Any]], None]) -> None:
    """Run `sink(event)` after each published event; a sink with a `many` attribute gets a
    commit's events in one `sink.many(events)` call instead."""
    if sink not in _sinks:
        _sinks.append(sink)


def on_commit(add_commands: Callable[[Any], None],
              on_results: Callable[[list[Any]], None] | None = None) -> None:
    """Have `add_commands(pipeline)` queue Redis commands that must follow the current
    transaction's commit: they go in the pipeline that publishes its events (no round trip of
    their own); `on_results` then gets their results (not called if the round trip failed).
    A rollback drops them; a Redis failure is logged like the events'. Neither may use the
    database (the session that committed cannot run SQL at that point)."""
    db.session().info.setdefault(_AFTER, []).append((add_commands, on_results))


def publish_committed(messages: list[dict[str, Any]], marks: dict[str, Any] | None = None,
                      after: list[tuple[Callable, Callable | None]] | None = None) -> None:
    """Publish a commit's events in one Redis round trip (with the change-version bumps of the
    same commit, see `app.services.versions`, and its `on_commit` commands), then run the
    sinks in order."""
    sinks = list(_sinks)
    reads: dict[int, Any] = {}
    try:
        pipe = get_redis().pipeline(transaction=False)
        for index, sink in enumerate(sinks):  # what batch sinks will read: same round trip
            prefetch = getattr(sink, "prefetch", None)
            if messages and prefetch is not None and prefetch(pipe, messages):
                reads[index] = None
        for message in messages:
            pipe.publish(EVENTS_CHANNEL, json.dumps(message, default=str))
        if marks:
            versions.queue_bumps(pipe, marks)
        spans = []
        for add_commands, on_results in after or ():
            start = len(pipe)
            add_commands(pipe)
            spans.append((start, len(pipe), on_results))
        results = pipe.execute()
        reads = dict(zip(reads, results, strict=False))
        for start, end, on_results in spans:
            if on_results is not None:
                on_results(results[start:end])
        sent = True
    except redis.RedisError:
        sent = False
        reads = {}
        log.warning("%d event(s) not published: Redis unavailable", len(messages))
    if marks:
        versions.bumps_sent(marks, sent)
    for index, sink in enumerate(sinks):
        many = getattr(sink, "many", None)  # a sink that takes a commit's events at once
        if many is None:
            for message in messages:
                _run_sink(sink, message)
        elif messages:
            _run_sink(many, messages, *([reads[index]] if index in reads else []))


def _run_sink(sink: Callable[..., None], *args: Any) -> None:
    try:
        sink(*args)
    except Exception:
        log.exception("event sink %s failed", getattr(sink, "__name__", sink))


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    marks = versions.committed(session)
    after = session.info.pop(_AFTER, None)
    if pending or marks or after:
        publish_committed(pending or [], marks, after)


@sa_event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_AFTER, None)
