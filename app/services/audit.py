"""Writing and reading the audit/history table; every state change passes through `record`."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert, select

from app.errors import utcnow
from app.extensions import db
from app.models.audit import AuditLog


def record(entity_type: str, entity_id: uuid.UUID, action: str, *,
           user_id: uuid.UUID | None, old: Any = None, new: Any = None,
           field: str | None = None, details: dict[str, Any] | None = None,
           project_id: uuid.UUID | None = None) -> AuditLog:
    """Add one history entry to the current transaction (the caller commits)."""
    entry = AuditLog(entity_type=entity_type, entity_id=entity_id, action=action,
                     user_id=user_id, old_value=old, new_value=new, field=field,
                     details=details, project_id=project_id)
    db.session.add(entry)
    return entry


def entry(entity_type: str, entity_id: uuid.UUID, action: str, *,
          user_id: uuid.UUID | None, old: Any = None, new: Any = None,
          field: str | None = None, details: dict[str, Any] | None = None,
          project_id: uuid.UUID | None = None) -> dict[str, Any]:
    """The same history entry as `record`, as a row for `record_rows` (no ORM object)."""
    return {"uid": uuid.uuid4(), "entity_type": entity_type, "entity_id": entity_id,
            "action": action, "user_id": user_id, "old_value": old, "new_value": new,
            "field": field, "details": details, "project_id": project_id,
            "created_at": utcnow()}


def record_rows(rows: list[dict[str, Any]]) -> None:
    """Add entries made by `entry` to the current transaction in one INSERT (the engine's hot
    path writes several per state change)."""
    if rows:
        db.session.connection().execute(_INSERT, rows)


_INSERT = insert(AuditLog.__table__)


def history(entity_type: str, entity_id: uuid.UUID, limit: int | None = None) -> list[AuditLog]:
    """An entity's history, oldest first."""
    query = (select(AuditLog)
             .where(AuditLog.entity_type == entity_type, AuditLog.entity_id == entity_id)
             .order_by(AuditLog.created_at, AuditLog.id))
    if limit:
        query = query.limit(limit)
    return list(db.session.scalars(query))
