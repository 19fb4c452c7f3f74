"""Output streams (a command's or an execution's lines): who may watch, and the stored backlog.

Gap-free joining (DESIGN "Output lines carry a sequence number"): the watcher subscribes to the
owner's Redis channel first and waits for Redis to confirm, then reads stored lines with
`seq > last_sent`, then forwards live lines with `seq > last_sent`. A producer commits a line
before publishing it, so every line is either in that read or arrives live afterwards; `seq`
drops the ones that are both.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from app.errors import AppError, iso
from app.extensions import db
from app.models.command import CommandRun
from app.models.execution import OutputLine, TaskExecution
from app.models.user import User
from app.services.access import get_task
from app.services.commands import get_command
from app.services.events import output_channel

FINAL = frozenset({"completed", "failed", "cancelled"})
PAGE = 500


class Stream:
    """One output stream a socket watches, and the last sequence number it sent."""

    __slots__ = ("channel", "extra", "key", "last_seq", "owner_id", "owner_type")

    def __init__(self, owner_type: str, owner_id: str, last_seq: int = 0,
                 extra: dict[str, Any] | None = None) -> None:
        self.owner_type = owner_type
        self.owner_id = owner_id
        self.key = f"{owner_type}:{owner_id}"
        self.channel = output_channel(owner_type, owner_id)
        self.last_seq = last_seq
        self.extra = extra or {}


def check_access(owner_type: str, owner_id: uuid.UUID, user: User) -> dict[str, Any]:
    """The run's status and ids if `user` may watch it, else the error its REST twin gives
    (GET /api/commands/{id}/status, GET /api/executions/{id}): the same service checks."""
    if owner_type == "command":
        run = get_command(owner_id, user)
        return {"status": run.status, "exit_code": run.exit_code,
                "project_id": str(run.project_id) if run.project_id else None}
    run = db.session.get(TaskExecution, owner_id)
    if run is None:
        raise AppError("EXECUTION_NOT_FOUND")
    try:
        get_task(run.task_id, user)
    except AppError as exc:  # as GET /api/executions/{id}: a deleted task hides its runs
        if exc.code == "TASK_NOT_FOUND":
            raise AppError("EXECUTION_NOT_FOUND") from None
        raise
    return {"status": run.status, "exit_code": run.exit_code, "task_id": str(run.task_id),
            "project_id": str(run.project_id)}


def status_of(owner_type: str, owner_id: str) -> dict[str, Any]:
    model = CommandRun if owner_type == "command" else TaskExecution
    run = db.session.get(model, uuid.UUID(owner_id))
    if run is None:
        return {"status": None, "exit_code": None}
    return {"status": run.status, "exit_code": run.exit_code}


def stored_lines(stream: Stream, before_seq: int | None = None) -> Iterator[list[dict[str, Any]]]:
    """Stored lines with seq > stream.last_seq (and < before_seq), in pages, oldest first."""
    after = stream.last_seq
    owner = uuid.UUID(stream.owner_id)
    while True:
        query = (select(OutputLine.seq, OutputLine.stream, OutputLine.kind, OutputLine.content,
                        OutputLine.data, OutputLine.timestamp)
                 .where(OutputLine.owner_type == stream.owner_type,
                        OutputLine.owner_id == owner, OutputLine.seq > after)
                 .order_by(OutputLine.seq).limit(PAGE))
        if before_seq is not None:
            query = query.where(OutputLine.seq < before_seq)
        rows = db.session.execute(query).all()
        if not rows:
            return
        page = [{"seq": r.seq, "stream": r.stream, "kind": r.kind, "content": r.content,
                 "data": r.data, "timestamp": iso(r.timestamp)} for r in rows]
        after = page[-1]["seq"]
        yield page
        if len(rows) < PAGE:
            return
