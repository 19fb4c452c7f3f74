"""Budget alerts raised for a project's month: one row per threshold reached (80 %, 100 %).

The unique key (project, month, threshold) is what makes an alert fire once per threshold per
month, however many workers finish runs at the same moment (app.services.budgets).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import created_at_col, uuid_pk


class ProjectBudgetAlert(db.Model):
    __tablename__ = "project_budget_alerts"

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("projects.id"), nullable=False)
    month: Mapped[str] = mapped_column(sa.String(7), nullable=False)  # YYYY-MM, UTC
    threshold: Mapped[int] = mapped_column(sa.Integer, nullable=False)  # percent
    spent_usd: Mapped[float] = mapped_column(sa.Float, nullable=False)
    budget_usd: Mapped[float] = mapped_column(sa.Float, nullable=False)
    created_at: Mapped[datetime] = created_at_col()

    __table_args__ = (
        sa.UniqueConstraint("project_id", "month", "threshold",
                            name="uq_project_budget_alerts_month"),
    )
