"""Tasks, their tags and dependencies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import JSONType, UTCDateTime, created_at_col, updated_at_col, uuid_pk

TASK_STATUSES = ("pending", "queued", "running", "completed", "failed", "cancelled")
EXECUTORS = ("claude", "shell")
DEPENDENCY_TYPES = ("blocks",)


class Task(db.Model):
    __tablename__ = "tasks"

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("projects.id"), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="pending")
    priority: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    progress_percentage: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    # Durations are whole seconds; the API shows them as HH:MM:SS.
    estimated_duration: Mapped[int | None] = mapped_column(sa.Integer)
    actual_duration: Mapped[int | None] = mapped_column(sa.Integer)
    assigned_to: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    created_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), nullable=False)
    created_at: Mapped[datetime] = created_at_col()
    updated_at: Mapped[datetime] = updated_at_col()
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, nullable=False, default=dict)
    executor: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="claude")
    command: Mapped[str | None] = mapped_column(sa.Text)
    working_directory: Mapped[str | None] = mapped_column(sa.String(1000))

    tag_rows = relationship("TaskTag", cascade="all, delete-orphan", lazy="selectin",
                            order_by="TaskTag.position")
    dependencies = relationship("TaskDependency", foreign_keys="TaskDependency.task_id",
                                cascade="all, delete-orphan", lazy="select")

    __table_args__ = (
        sa.CheckConstraint(f"status IN {TASK_STATUSES}", name="status"),
        sa.CheckConstraint(f"executor IN {EXECUTORS}", name="executor"),
        sa.CheckConstraint("progress_percentage BETWEEN 0 AND 100", name="progress"),
        # Every filter and sort of the reference, scoped by project first (the common case).
        # deleted_at too: counting a project's live tasks then reads the index alone.
        sa.Index("ix_tasks_project_status", "project_id", "status", "deleted_at"),
        sa.Index("ix_tasks_project_created_at", "project_id", "created_at"),
        sa.Index("ix_tasks_project_updated_at", "project_id", "updated_at"),
        sa.Index("ix_tasks_project_priority", "project_id", "priority"),
        sa.Index("ix_tasks_project_title", "project_id", "title"),
        sa.Index("ix_tasks_assigned_to", "assigned_to"),
        sa.Index("ix_tasks_created_by", "created_by"),
        sa.Index("ix_tasks_status", "status"),
        sa.Index("ix_tasks_created_at", "created_at"),
        sa.Index("ix_tasks_completed_at", "project_id", "completed_at"),
    )

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]

    @tags.setter
    def tags(self, values: list[str]) -> None:
        wanted = list(dict.fromkeys(values))
        existing = {row.tag: row for row in self.tag_rows}
        self.tag_rows = [existing.get(tag) or TaskTag(tag=tag) for tag in wanted]
        for position, row in enumerate(self.tag_rows):
            row.position = position


class TaskTag(db.Model):
    """One tag of one task: tag filters are indexed lookups, not JSON scans."""

    __tablename__ = "task_tags"

    task_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)

    __table_args__ = (sa.Index("ix_task_tags_tag_task", "tag", "task_id"),)


class TaskDependency(db.Model):
    """`task_id` waits for `depends_on_task_id` (type `blocks`)."""

    __tablename__ = "task_dependencies"

    id: Mapped[uuid.UUID] = uuid_pk()
    task_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False)
    depends_on_task_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False)
    dependency_type: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="blocks")
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at_col()

    depends_on = relationship("Task", foreign_keys=[depends_on_task_id], lazy="joined")

    __table_args__ = (
        sa.UniqueConstraint("task_id", "depends_on_task_id", name="uq_task_dependencies_pair"),
        sa.CheckConstraint("task_id <> depends_on_task_id", name="not_self"),
        sa.Index("ix_task_dependencies_task_id", "task_id"),
        sa.Index("ix_task_dependencies_depends_on", "depends_on_task_id"),
    )
