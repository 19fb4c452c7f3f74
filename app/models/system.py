"""Process-wide switches that must survive restarts, kept in the database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import JSONType, updated_at_col


class SystemSetting(db.Model):
    """Process-wide switches that must survive restarts (maintenance mode)."""

    __tablename__ = "system_settings"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType, nullable=True)
    updated_at: Mapped[datetime] = updated_at_col()
