"""Run accounts: the unprivileged OS user each run space executes as (app.services.run_identity).

One row per space (a project's workspace, or a user's scratch directory for commands outside any
project); the account's uid is `RUN_UID_BASE + id`, so two spaces can never share a uid.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import created_at_col

SPACE_KINDS = ("project", "user")


class RunAccount(db.Model):
    __tablename__ = "run_accounts"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    space_kind: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    space_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    created_at: Mapped[datetime] = created_at_col()

    __table_args__ = (
        sa.UniqueConstraint("space_kind", "space_id", name="uq_run_accounts_space"),
        sa.CheckConstraint(f"space_kind IN {SPACE_KINDS}", name="space_kind"),
    )
