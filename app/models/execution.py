"""Task executions (one per run or retry) and the output lines of executions and commands."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import BigIntPK, JSONType, RunRecord, created_at_col, uuid_pk

EXECUTION_STATUSES = ("queued", "running", "completed", "failed", "cancelled")
QUEUES = ("high", "normal", "low")
OUTPUT_OWNERS = ("execution", "command")
STREAMS = ("stdout", "stderr", "system")


class TaskExecution(RunRecord, db.Model):
    __tablename__ = "task_executions"

    id: Mapped[uuid.UUID] = uuid_pk()
    task_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("tasks.id"), nullable=False)
    project_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("projects.id"), nullable=False)
    triggered_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    session_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    queue: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="normal")
    attempt: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    retry_of: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    executor: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="claude")
    command: Mapped[str | None] = mapped_column(sa.Text)
    working_directory: Mapped[str | None] = mapped_column(sa.String(1000))
    # timeout, retry_attempts, environment ... as requested.
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    # Claude result fields (claude-stream-json.md).
    claude_session_id: Mapped[str | None] = mapped_column(sa.String(100))
    cost_usd: Mapped[float | None] = mapped_column(sa.Float)
    num_turns: Mapped[int | None] = mapped_column(sa.Integer)
    duration_ms: Mapped[int | None] = mapped_column(sa.Integer)
    duration_api_ms: Mapped[int | None] = mapped_column(sa.Integer)
    result_text: Mapped[str | None] = mapped_column(sa.Text)
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    model_usage: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # result.modelUsage
    permission_denials: Mapped[list[Any] | None] = mapped_column(JSONType)
    result_subtype: Mapped[str | None] = mapped_column(sa.String(64))
    # Completed, but with something the user should know (tools Claude was denied).
    warning: Mapped[str | None] = mapped_column(sa.Text)
    # The conversation (app.services.conversation): what this run asked Claude, the session
    # it continued (`--resume`) and the run it follows, and the directory it really ran in
    # (a resume must run where the transcript was made).
    prompt: Mapped[str | None] = mapped_column(sa.Text)
    resume_session_id: Mapped[str | None] = mapped_column(sa.String(100))
    follow_up_of: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    run_directory: Mapped[str | None] = mapped_column(sa.String(4096))

    __table_args__ = (
        sa.CheckConstraint(f"status IN {EXECUTION_STATUSES}", name="status"),
        sa.CheckConstraint(f"queue IN {QUEUES}", name="queue"),
        sa.Index("ix_task_executions_task", "task_id", "created_at"),
        sa.Index("ix_task_executions_project_status", "project_id", "status"),
        sa.Index("ix_task_executions_status_finished", "status", "finished_at"),
        sa.Index("ix_task_executions_created_at", "created_at"),
    )


class OutputLine(db.Model):
    """One line of output with its sequence number, for an execution or a command run.

    `kind` says what a Claude event was (text, tool_use, tool_result, result, system); plain
    output is `line`. `data` keeps the structured event for the viewer.
    """

    __tablename__ = "output_lines"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    owner_type: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    owner_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    seq: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    stream: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="stdout")
    kind: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="line")
    content: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    timestamp: Mapped[datetime] = created_at_col()

    __table_args__ = (
        sa.UniqueConstraint("owner_type", "owner_id", "seq", name="uq_output_lines_owner_seq"),
        sa.CheckConstraint(f"owner_type IN {OUTPUT_OWNERS}", name="owner_type"),
    )
