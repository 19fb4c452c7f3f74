"""Webhooks, their deliveries and every delivery attempt."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import JSONType, UTCDateTime, created_at_col, updated_at_col, uuid_pk

WEBHOOK_EVENTS = (
    "task.created", "task.updated", "task.completed", "task.failed",
    "project.created", "project.updated", "system.maintenance", "system.alert",
    "budget.exceeded",
)
DELIVERY_STATUSES = ("pending", "retrying", "succeeded", "failed")


class Webhook(db.Model):
    __tablename__ = "webhooks"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), nullable=False)
    url: Mapped[str] = mapped_column(sa.String(2000), nullable=False)
    events: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    # Kept in the clear because signing needs it; never returned after creation.
    secret: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    description: Mapped[str | None] = mapped_column(sa.String(500))
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = created_at_col()
    updated_at: Mapped[datetime] = updated_at_col()
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (sa.Index("ix_webhooks_user", "user_id"),
                      sa.Index("ix_webhooks_active", "active"))


class WebhookDelivery(db.Model):
    """One event sent (or to be sent) to one webhook; `body` is the exact bytes signed."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[uuid.UUID] = uuid_pk()
    webhook_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False)
    event_type: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    max_attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=5)
    last_status_code: Mapped[int | None] = mapped_column(sa.Integer)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = created_at_col()
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.CheckConstraint(f"status IN {DELIVERY_STATUSES}", name="status"),
        sa.Index("ix_webhook_deliveries_webhook", "webhook_id", "created_at"),
        sa.Index("ix_webhook_deliveries_status", "status", "next_attempt_at"),
    )


class WebhookAttempt(db.Model):
    __tablename__ = "webhook_attempts"

    id: Mapped[uuid.UUID] = uuid_pk()
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False)
    attempt_number: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    status_code: Mapped[int | None] = mapped_column(sa.Integer)
    duration_ms: Mapped[float | None] = mapped_column(sa.Float)
    error: Mapped[str | None] = mapped_column(sa.Text)
    response_excerpt: Mapped[str | None] = mapped_column(sa.String(1000))
    created_at: Mapped[datetime] = created_at_col()

    __table_args__ = (sa.Index("ix_webhook_attempts_delivery", "delivery_id", "attempt_number"),)
