"""Work sessions (`/api/sessions`, `/ws/{session_id}`), their events and snapshots."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import BigIntPK, JSONType, UTCDateTime, created_at_col, uuid_pk

SESSION_STATUSES = ("active", "expired", "closed")


class UserSession(db.Model):
    __tablename__ = "user_sessions"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), nullable=False)
    project_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("projects.id"))
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="active")
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    created_at: Mapped[datetime] = created_at_col()
    last_accessed: Mapped[datetime] = created_at_col()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.CheckConstraint(f"status IN {SESSION_STATUSES}", name="status"),
        sa.Index("ix_user_sessions_user_status", "user_id", "status"),
        sa.Index("ix_user_sessions_project", "project_id"),
    )


class SessionEvent(db.Model):
    """One thing that happened in a session (created, settings_changed, connected, ...)."""

    __tablename__ = "session_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("user_sessions.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    event_type: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = created_at_col()

    __table_args__ = (sa.Index("ix_session_events_session", "session_id", "created_at"),)


class SessionSnapshot(db.Model):
    """The whole state of a session at one moment, written on every change; `restore` reads it."""

    __tablename__ = "session_snapshots"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("user_sessions.id", ondelete="CASCADE"), nullable=False)
    reason: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    state: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    created_at: Mapped[datetime] = created_at_col()

    __table_args__ = (sa.Index("ix_session_snapshots_session", "session_id", "created_at"),)
