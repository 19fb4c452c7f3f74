"""Column types and mixins shared by every model: UUID ids and timezone-aware UTC timestamps."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from app.errors import utcnow


class UTCDateTime(TypeDecorator):
    """A timestamp that is always aware UTC in Python, whatever the database keeps.

    PostgreSQL stores `timestamptz`; SQLite stores the UTC wall time. Naive values coming in are
    taken to be UTC already.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# A 64-bit autoincrement key that is still SQLite's rowid alias (for high-volume tables).
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# JSON everywhere; JSONB on PostgreSQL so it can be indexed and compared.
JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)


def created_at_col(index: bool = False) -> Mapped[datetime]:
    return mapped_column(UTCDateTime, nullable=False, default=utcnow, index=index)


def updated_at_col() -> Mapped[datetime]:
    return mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)


class RunRecord:
    """The columns every run has, whether a task execution or a command run: the job that ran
    it, the process, how it ended, its timings and its output accounting (CONTRACT §3–4).
    One definition so that the engine's shared code (lifecycle, reaper, viewer) can rely on
    both tables having the same fields."""

    status: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="queued")
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
    # Output accounting (CONTRACT §4).
    last_seq: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    output_bytes: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    output_truncated: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
