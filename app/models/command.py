"""Command runs: a command line executed on a worker, outside any task."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import JSONType, UTCDateTime, created_at_col, uuid_pk

COMMAND_STATUSES = ("queued", "running", "completed", "failed", "cancelled")


class CommandRun(db.Model):
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
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="queued")
    queue: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="high")
    job_id: Mapped[str | None] = mapped_column(sa.String(64))
    worker_name: Mapped[str | None] = mapped_column(sa.String(200))
    pid: Mapped[int | None] = mapped_column(sa.Integer)
    exit_code: Mapped[int | None] = mapped_column(sa.Integer)
    error_code: Mapped[str | None] = mapped_column(sa.String(64))
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = created_at_col()
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seq: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    output_bytes: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    output_truncated: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    __table_args__ = (
        sa.CheckConstraint(f"status IN {COMMAND_STATUSES}", name="status"),
        sa.Index("ix_command_runs_user_created", "user_id", "created_at"),
        sa.Index("ix_command_runs_status", "status"),
        sa.Index("ix_command_runs_project", "project_id", "created_at"),
    )
