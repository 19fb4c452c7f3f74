"""Users: identity, role and tier, permissions, preferences, disabled flag, last login."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import JSONType, UTCDateTime, created_at_col, updated_at_col, uuid_pk

ROLES = ("admin", "developer", "viewer")
TIERS = ("standard", "premium")
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "admin": ("read", "write", "execute", "admin"),
    "developer": ("read", "write", "execute"),
    "viewer": ("read",),
}
DEFAULT_PREFERENCES: dict[str, Any] = {
    "theme": "light",
    "language": "en",
    "timezone": "UTC",
    "notifications": {"email": True, "push": False, "task_updates": True, "project_updates": True},
    "dashboard_layout": {"widgets": ["tasks", "projects", "performance"], "columns": 3},
}

_hasher = PasswordHasher()


def configure_password_hasher(params: dict[str, int]) -> None:
    """Set the argon2id cost once per process (tests use a cheap one)."""
    global _hasher
    _hasher = PasswordHasher(**params)


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = uuid_pk()
    username: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    email: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    full_name: Mapped[str | None] = mapped_column(sa.String(255))
    avatar_url: Mapped[str | None] = mapped_column(sa.String(500))
    password_hash: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    role: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="developer")
    tier: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="standard")
    # Extra grants on top of the role's (rarely used; the role is the rule).
    extra_permissions: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    preferences: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    is_disabled: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    # Tokens carry the value current when they were issued (claim `tv`); a password change or
    # disabling the account moves it, so every token issued before stops working at once.
    token_version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0,
                                               server_default="0")
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = created_at_col()
    updated_at: Mapped[datetime] = updated_at_col()

    __table_args__ = (
        sa.CheckConstraint(f"role IN {ROLES}", name="role"),
        sa.CheckConstraint(f"tier IN {TIERS}", name="tier"),
    )

    def set_password(self, password: str) -> None:
        self.password_hash = _hasher.hash(password)

    def revoke_tokens(self) -> None:
        """Make every token issued so far invalid (checked on each request and socket)."""
        self.token_version = (self.token_version or 0) + 1

    def check_password(self, password: str) -> bool:
        try:
            return _hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    @property
    def permissions(self) -> list[str]:
        perms = list(ROLE_PERMISSIONS.get(self.role, ()))
        perms += [p for p in self.extra_permissions or [] if p not in perms]
        return perms

    def has_permission(self, permission: str) -> bool:
        return self.role == "admin" or permission in self.permissions

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def display_name(self) -> str:
        return self.full_name or self.username

    @property
    def merged_preferences(self) -> dict[str, Any]:
        """Stored preferences over the defaults (nested dicts merged one level deep)."""
        merged = {k: (dict(v) if isinstance(v, dict) else v)
                  for k, v in DEFAULT_PREFERENCES.items()}
        for key, value in (self.preferences or {}).items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key].update(value)
            else:
                merged[key] = value
        return merged
