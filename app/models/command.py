"""Command runs: a command line executed on a worker, outside any task."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import JSONType, RunRecord, uuid_pk

COMMAND_STATUSES = ("queued", "running", "completed", "failed", "cancelled")


class CommandRun(RunRecord, db.Model):
    __tablename__ = "command_runs"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), nullable=False)
    project_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("projects.id"))
    session_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    command: Mapped[str] = mapped_column(sa.Text, nullable=False)
    working_directory: Mapped[str | None] = mapped_column(sa.String(1000))
    environment: Mapped[dict[str, str]] = mapped_column(JSONType, nullable=False, default=dict)
    timeout: Mapped[int | None] = mapped_column(sa.Integer)
    stream_output: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    forced: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    queue: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="high")
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    __table_args__ = (
        sa.CheckConstraint(f"status IN {COMMAND_STATUSES}", name="status"),
        sa.Index("ix_command_runs_user_created", "user_id", "created_at"),
        sa.Index("ix_command_runs_status", "status"),
        sa.Index("ix_command_runs_project", "project_id", "created_at"),
    )
