"""Batched output storage: lines get their `seq` when read, are stored and committed in batches,
and only then published (the protocol of `app.services.events`).

One INSERT of many rows and one UPDATE of the owner's counters per batch, every
`OUTPUT_FLUSH_MS` (or sooner when a batch reaches `OUTPUT_BATCH_LINES`) — never one transaction
per line. Past `MAX_OUTPUT_BYTES` one truncation marker is stored and later lines are counted
but dropped; the process keeps running.

A batch is stored only while its run is `running` (the counters' UPDATE is conditional and
comes first, in the same transaction): once somebody else wrote a final state (a cancel that
found the worker silent, a reaper), nothing more is stored, so the run's `last_seq` stays the
truth, and `final` tells the run loop to stop. A database that refuses a batch (locked,
unreachable, erroring) is retried with backoff for `OUTPUT_DB_RETRY_SECONDS`; then
`OutputStoreError` ends the run (DATABASE_ERROR).
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.exc import DBAPIError

from app.errors import iso, utcnow
from app.extensions import db
from app.models.command import CommandRun
from app.models.execution import OutputLine, TaskExecution
from app.services import events
from app.services.engine_config import setting

log = logging.getLogger(__name__)
OWNERS = {"execution": TaskExecution, "command": CommandRun}
DEFAULTS = {"OUTPUT_DB_RETRY_SECONDS": 30.0}


class OutputStoreError(Exception):
    """The database refused a batch of output for longer than the retry window."""


def _clean(text: str) -> str:
    # PostgreSQL text cannot hold NUL; keep the line, mark the byte.
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


class OutputWriter:
    """Collects lines of one run and writes them in batches."""

    def __init__(self, owner_type: str, owner_id: uuid.UUID, max_bytes: int,
                 batch_lines: int = 5000) -> None:
        self.owner_type = owner_type
        self.owner_id = owner_id
        self.model = OWNERS[owner_type]
        self.max_bytes = max_bytes
        self.batch_lines = batch_lines
        self.seq = 0
        self.bytes = 0
        self.dropped_bytes = 0
        self.truncated = False
        self.pending: list[dict[str, Any]] = []
        self.last_stderr: str | None = None
        self.last_line: str | None = None  # of any stream: the detail of a failure message
        self.final = False  # the run was ended by somebody else: nothing more is stored
        self.retry_seconds = float(setting("OUTPUT_DB_RETRY_SECONDS", DEFAULTS))

    @property
    def full(self) -> bool:
        return len(self.pending) >= self.batch_lines

    def add(self, stream: str, content: str, size: int, kind: str = "line",
            data: dict[str, Any] | None = None) -> None:
        """One line (or one parsed event) of `size` bytes of raw output."""
        if content.strip():
            self.last_line = content.strip()[:500]
            if stream == "stderr":
                self.last_stderr = self.last_line
        if self.truncated:
            self.dropped_bytes += size
            return
        if self.bytes + size > self.max_bytes:
            self.truncated = True
            self.dropped_bytes += size
            self._append("system", f"[output truncated: more than {self.max_bytes} bytes; "
                         "further output is dropped, the process keeps running]\n", "line", None)
            return
        self.bytes += size
        self._append(stream, content, kind, data)

    def system(self, message: str) -> None:
        """A note from the engine itself (not counted against the cap)."""
        self._append("system", message if message.endswith("\n") else message + "\n", "line",
                     None)

    def _append(self, stream: str, content: str, kind: str, data: dict[str, Any] | None) -> None:
        self.seq += 1
        self.pending.append({"owner_type": self.owner_type, "owner_id": self.owner_id,
                             "seq": self.seq, "stream": stream, "kind": kind,
                             "content": _clean(content), "data": data,
                             "timestamp": datetime.now(UTC)})

    def flush(self, heartbeat: bool = False) -> int:
        """Store and commit the pending lines, then publish them; returns how many."""
        rows = self.pending
        if self.final:
            self.pending = []
            return 0
        if not rows and not heartbeat:
            return 0
        values: dict[str, Any] = {"last_seq": self.seq, "output_bytes": self.bytes,
                                  "output_truncated": self.truncated, "heartbeat_at": utcnow()}
        self.pending = []
        deadline = time.monotonic() + self.retry_seconds
        pause = 0.1
        while True:
            try:
                if not self._store(rows, values):
                    log.warning("%s %s was ended elsewhere; its output is no longer stored",
                                self.owner_type, self.owner_id)
                    self.final = True
                    return 0
                break
            except DBAPIError as exc:
                db.session.rollback()
                if time.monotonic() + pause > deadline:
                    self.pending = rows + self.pending
                    raise OutputStoreError(
                        f"the database refused the output for {self.retry_seconds:g} s "
                        f"({type(exc.orig).__name__ if exc.orig else type(exc).__name__}: "
                        f"{str(exc.orig or exc).strip().splitlines()[0][:200]})") from exc
                log.warning("output batch of %s %s: database refused it (%s); retrying",
                            self.owner_type, self.owner_id, type(exc.orig).__name__)
                time.sleep(pause)
                pause = min(pause * 2, 2.0)
        if rows:
            events.publish_output(self.owner_type, self.owner_id, [
                {"seq": r["seq"], "stream": r["stream"], "kind": r["kind"],
                 "content": r["content"], "data": r["data"], "timestamp": iso(r["timestamp"])}
                for r in rows])
        return len(rows)

    def _store(self, rows: list[dict[str, Any]], values: dict[str, Any]) -> bool:
        """One transaction: the owner's counters (only while it is running), then the lines.
        False when the run is no longer running (nothing written)."""
        changed = db.session.execute(
            update(self.model)
            .where(self.model.id == self.owner_id, self.model.status == "running")
            .values(**values).execution_options(synchronize_session=False))
        if changed.rowcount != 1:
            db.session.rollback()
            return False
        if rows:
            db.session.execute(insert(OutputLine), rows)
        db.session.commit()
        return True
