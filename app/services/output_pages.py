"""Reading output for people: the tail of a log, the range before it, and the whole of it.

A page shows the last lines of a run and loads earlier ranges on demand, so even a 200,000-line
log opens at once: every read here walks the `(owner_type, owner_id, seq)` unique index from
one end, bounded by a limit, never counting or scanning the whole log. Access is the caller's
business (commands.get_command / executions.get rules), as for `app.services.output`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from app.errors import iso
from app.extensions import db
from app.models.execution import OutputLine

TAIL = 500
DOWNLOAD_PAGE = 5000
_COLUMNS = (OutputLine.seq, OutputLine.stream, OutputLine.kind, OutputLine.content,
            OutputLine.data, OutputLine.timestamp)


def _row(r: Any) -> dict[str, Any]:
    return {"seq": r.seq, "stream": r.stream, "kind": r.kind, "content": r.content,
            "data": r.data, "timestamp": iso(r.timestamp)}


def _owner(owner_type: str, owner_id: uuid.UUID):
    return (OutputLine.owner_type == owner_type) & (OutputLine.owner_id == owner_id)


def before(owner_type: str, owner_id: uuid.UUID, before_seq: int | None = None,
           limit: int = TAIL, last_seq: int = 0) -> dict[str, Any]:
    """Up to `limit` lines with seq < before_seq (the last lines when None), oldest first:
    {lines, first_seq, last_seq, has_earlier}.

    Sequence numbers run 1, 2, 3, ... per owner, so every read is bounded by a seq range as
    well as by LIMIT: with statistics that are stale after a burst of inserts, PostgreSQL
    would otherwise read and sort every line of the run (70 ms at 200,000 lines instead of
    1 ms). `last_seq` is the owner's counter (`TaskExecution/CommandRun.last_seq`, written in
    the same transaction as the lines); lines past it still come, it only bounds the read.
    """
    query = select(*_COLUMNS).where(_owner(owner_type, owner_id))
    floor = 1
    if before_seq is not None:
        floor = max(before_seq - limit, 1)
        query = query.where(OutputLine.seq < before_seq, OutputLine.seq >= floor)
    elif last_seq > limit:
        floor = last_seq - limit + 1
        query = query.where(OutputLine.seq >= floor)
    rows = db.session.execute(query.order_by(OutputLine.seq.desc()).limit(limit)).all()
    lines = [_row(r) for r in reversed(rows)]
    first = lines[0]["seq"] if lines else floor
    return {"lines": lines, "first_seq": first, "last_seq": lines[-1]["seq"] if lines else 0,
            "has_earlier": first > 1}


def iter_all(owner_type: str, owner_id: uuid.UUID, page: int = DOWNLOAD_PAGE
             ) -> Iterator[dict[str, Any]]:
    """Every line, oldest first, read a page at a time (keyset on seq) for downloads."""
    after = 0
    while True:
        rows = db.session.execute(
            select(OutputLine.seq, OutputLine.stream, OutputLine.content)
            .where(_owner(owner_type, owner_id), OutputLine.seq > after)
            .order_by(OutputLine.seq).limit(page)).all()
        for r in rows:
            yield {"seq": r.seq, "stream": r.stream, "content": r.content}
        if len(rows) < page:
            return
        after = rows[-1].seq
