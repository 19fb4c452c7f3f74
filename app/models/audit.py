"""The audit/history table: every change of every entity, with old/new values and who did it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import BigIntPK, JSONType, created_at_col


class AuditLog(db.Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # Public id for the API ("history-uuid" in the reference).
    uid: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False, default=uuid.uuid4, unique=True)
    entity_type: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    entity_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    # The project an entry belongs to, for a project's recent activity in one indexed query.
    project_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    action: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    field: Mapped[str | None] = mapped_column(sa.String(64))
    old_value: Mapped[Any] = mapped_column(JSONType, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSONType, nullable=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = created_at_col()

    user = relationship("User", lazy="joined")

    __table_args__ = (
        sa.Index("ix_audit_entity", "entity_type", "entity_id", "created_at"),
        sa.Index("ix_audit_project", "project_id", "created_at"),
        sa.Index("ix_audit_user", "user_id", "created_at"),
    )
