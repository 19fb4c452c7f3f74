"""Projects: status, settings, resource limits, members and soft delete."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import JSONType, UTCDateTime, created_at_col, updated_at_col, uuid_pk

PROJECT_STATUSES = ("active", "archived", "completed")


class Project(db.Model):
    __tablename__ = "projects"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="active")
    created_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), nullable=False)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    resource_limits: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    created_at: Mapped[datetime] = created_at_col()
    updated_at: Mapped[datetime] = updated_at_col()
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    owner = relationship("User", foreign_keys=[created_by], lazy="joined")
    members = relationship("ProjectMember", cascade="all, delete-orphan", lazy="selectin",
                           back_populates="project")

    __table_args__ = (
        sa.CheckConstraint(f"status IN {PROJECT_STATUSES}", name="status"),
        sa.Index("ix_projects_created_by_status", "created_by", "status"),
        sa.Index("ix_projects_status", "status"),
        sa.Index("ix_projects_created_at", "created_at"),
        sa.Index("ix_projects_updated_at", "updated_at"),
        sa.Index("ix_projects_name", "name"),
    )

    @property
    def member_ids(self) -> list[uuid.UUID]:
        return [m.user_id for m in self.members]


class ProjectMember(db.Model):
    """Who shares a project besides its owner; mirrors `settings.members` so access checks are
    indexed joins, not JSON scans."""

    __tablename__ = "project_members"

    project_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    added_at: Mapped[datetime] = created_at_col()

    project = relationship("Project", back_populates="members")

    __table_args__ = (sa.Index("ix_project_members_user_id", "user_id"),)
