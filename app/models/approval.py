"""Permission requests of running Claude runs (`--permission-prompt-tool=stdio`).

The CLI asks before using a tool (`control_request` `can_use_tool`); the worker stores the
request here as `pending` and answers the CLI once a member decides (`allowed`, `denied` with a
message), nobody answered in time (`expired`: denied) or the run moved on without it
(`cancelled`). Rows are kept: with the task's history they say who allowed what, when.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import JSONType, UTCDateTime, created_at_col, uuid_pk

APPROVAL_STATUSES = ("pending", "allowed", "denied", "expired", "cancelled")


class RunApproval(db.Model):
    __tablename__ = "run_approvals"

    id: Mapped[uuid.UUID] = uuid_pk()
    execution_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("task_executions.id"),
                                                    nullable=False)
    task_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("tasks.id"), nullable=False)
    project_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("projects.id"), nullable=False)
    request_id: Mapped[str] = mapped_column(sa.String(200), nullable=False)  # the CLI's
    tool_name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    tool_input: Mapped[Any] = mapped_column(JSONType, nullable=True)
    tool_use_id: Mapped[str | None] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="pending")
    message: Mapped[str | None] = mapped_column(sa.Text)  # a denial's reason, told to Claude
    requested_at: Mapped[datetime] = created_at_col()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))

    __table_args__ = (
        sa.CheckConstraint(f"status IN {APPROVAL_STATUSES}", name="status"),
        sa.Index("ix_run_approvals_execution", "execution_id", "requested_at"),
        sa.Index("ix_run_approvals_status_task", "status", "task_id"),
    )
