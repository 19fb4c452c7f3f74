"""Batched output storage: lines get their `seq` when read, are stored and committed in batches,
and only then published (the protocol of `app.services.events`).

One INSERT of many rows and one UPDATE of the owner's counters per batch, every
`OUTPUT_FLUSH_MS` (or sooner when a batch reaches `OUTPUT_BATCH_LINES`) — never one transaction
per line. Past `MAX_OUTPUT_BYTES` one truncation marker is stored and later lines are counted
but dropped; the process keeps running.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.exc import OperationalError

from app.errors import iso, utcnow
from app.extensions import db
from app.models.command import CommandRun
from app.models.execution import OutputLine, TaskExecution
from app.services import events

log = logging.getLogger(__name__)
OWNERS = {"execution": TaskExecution, "command": CommandRun}


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

    @property
    def full(self) -> bool:
        return len(self.pending) >= self.batch_lines

    def add(self, stream: str, content: str, size: int, kind: str = "line",
            data: dict[str, Any] | None = None) -> None:
        """One line (or one parsed event) of `size` bytes of raw output."""
        if stream == "stderr" and content.strip():
            self.last_stderr = content.strip()[:500]
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
        if not rows and not heartbeat:
            return 0
        self.pending = []
        values: dict[str, Any] = {"last_seq": self.seq, "output_bytes": self.bytes,
                                  "output_truncated": self.truncated, "heartbeat_at": utcnow()}
        for attempt in range(5):
            try:
                if rows:
                    db.session.execute(insert(OutputLine), rows)
                db.session.execute(update(self.model).where(self.model.id == self.owner_id)
                                   .values(**values).execution_options(synchronize_session=False))
                db.session.commit()
                break
            except OperationalError:  # SQLite "database is locked" under heavy contention
                db.session.rollback()
                if attempt == 4:
                    raise
                log.warning("output batch of %s %s: database busy, retrying", self.owner_type,
                            self.owner_id)
                time.sleep(0.1 * (attempt + 1))
        if rows:
            events.publish_output(self.owner_type, self.owner_id, [
                {"seq": r["seq"], "stream": r["stream"], "kind": r["kind"],
                 "content": r["content"], "data": r["data"], "timestamp": iso(r["timestamp"])}
                for r in rows])
        return len(rows)
