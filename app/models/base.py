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
