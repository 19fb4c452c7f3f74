"""Reading stored output lines (the REST backlog that joins the live stream by `seq`)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from app.errors import iso
from app.extensions import db
from app.models.execution import OutputLine

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10000


def line_dict(line: OutputLine) -> dict[str, Any]:
    out: dict[str, Any] = {"seq": line.seq, "stream": line.stream, "content": line.content,
                           "timestamp": iso(line.timestamp)}
    if line.kind != "line":
        out["kind"] = line.kind
        out["data"] = line.data
    return out


def read(owner_type: str, owner_id: uuid.UUID, after_seq: int = 0,
         limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """Lines with seq > after_seq, oldest first: {output, next_after_seq, has_more}."""
    limit = min(max(limit, 1), MAX_LIMIT)
    rows = list(db.session.scalars(
        select(OutputLine)
        .where(OutputLine.owner_type == owner_type, OutputLine.owner_id == owner_id,
               OutputLine.seq > after_seq)
        .order_by(OutputLine.seq).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"output": [line_dict(r) for r in rows],
            "next_after_seq": rows[-1].seq if rows else after_seq, "has_more": more}
