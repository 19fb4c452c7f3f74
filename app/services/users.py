"""Users: creation and administration (CLI, admin pages), profile and preferences."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, func, or_, select

from app.errors import AppError, iso, utcnow
from app.extensions import db
from app.models.project import Project
from app.models.session import UserSession
from app.models.task import Task
from app.models.user import ROLES, TIERS, User
from app.services import audit
from app.services.durations import format_duration


def get_user(user_id: uuid.UUID) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise AppError("USER_NOT_FOUND")
    return user


def find_by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))


def create_user(username: str, password: str, *, email: str | None = None,
                role: str = "developer", tier: str = "standard", full_name: str | None = None,
                actor: User | None = None) -> User:
    """A new enabled user; usernames and emails are unique (case-insensitive)."""
    if role not in ROLES:
        raise AppError("VALIDATION_ERROR", f"role must be one of {', '.join(ROLES)}",
                       {"field": "role", "issue": f"unknown role {role!r}"})
    if tier not in TIERS:
        raise AppError("VALIDATION_ERROR", f"tier must be one of {', '.join(TIERS)}",
                       {"field": "tier", "issue": f"unknown tier {tier!r}"})
    if len(password) < 8:
        raise AppError("VALIDATION_VALUE_TOO_SHORT", "Password must have at least 8 characters",
                       {"field": "password", "issue": "at least 8 characters"})
    if find_by_username(username):
        raise AppError("RESOURCE_ALREADY_EXISTS", f"User {username!r} already exists",
                       {"field": "username"})
    if email and db.session.scalar(select(User).where(func.lower(User.email) == email.lower())):
        raise AppError("RESOURCE_ALREADY_EXISTS", f"Email {email!r} is already used",
                       {"field": "email"})
    user = User(username=username, email=email, role=role, tier=tier, full_name=full_name)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record("user", user.id, "created", user_id=actor.id if actor else None,
                 details={"initial_data": {"username": username, "role": role, "tier": tier}})
    db.session.commit()
    return user


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.username)))


def set_disabled(user: User, disabled: bool, actor: User | None = None) -> User:
    """Disable (or enable) an account. Disabling also ends every token issued so far, so
    enabling the account later does not bring old sessions back."""
    if user.is_disabled != disabled:
        audit.record("user", user.id, "disabled" if disabled else "enabled",
                     user_id=actor.id if actor else None, field="is_disabled",
                     old=user.is_disabled, new=disabled)
        user.is_disabled = disabled
        user.disabled_at = utcnow() if disabled else None
        if disabled:
            user.revoke_tokens()
        db.session.commit()
    return user


def set_password(user: User, password: str, actor: User | None = None,
                 field: str = "password") -> None:
    """Set a new password (CLI, admin page, own profile): every token issued before, on every
    device, stops working at once (`User.token_version`). Whoever changed their own password
    gets fresh tokens from the caller (`auth.issue_tokens`)."""
    if len(password) < 8:
        raise AppError("VALIDATION_VALUE_TOO_SHORT", "Password must have at least 8 characters",
                       {"field": field, "issue": "at least 8 characters"})
    if len(password) > 1024:
        raise AppError("VALIDATION_VALUE_TOO_LONG", "Password must have at most 1024 characters",
                       {"field": field, "issue": "at most 1024 characters"})
    user.set_password(password)
    user.revoke_tokens()
    audit.record("user", user.id, "password_changed", user_id=actor.id if actor else None)
    db.session.commit()


def change_own_password(user: User, current: str, new: str, confirm: str) -> None:
    """A signed-in user changing their own password: they must know the current one (counted
    by the login back-off) and type the new one twice."""
    from app.services.auth import check_own_password

    if new != confirm:
        raise AppError("VALIDATION_ERROR", "The two new passwords differ",
                       {"field": "confirm_password", "issue": "does not match"})
    check_own_password(user, current)
    set_password(user, new, actor=user, field="new_password")


def statistics(user: User) -> dict[str, Any]:
    """Counts computed from the data, not stored counters."""
    live_tasks = and_(Task.deleted_at.is_(None))
    tasks_created = db.session.scalar(
        select(func.count()).select_from(Task).where(live_tasks, Task.created_by == user.id))
    tasks_completed = db.session.scalar(
        select(func.count()).select_from(Task).where(
            live_tasks, Task.status == "completed",
            or_(Task.assigned_to == user.id,
                and_(Task.assigned_to.is_(None), Task.created_by == user.id))))
    projects_created = db.session.scalar(
        select(func.count()).select_from(Project).where(
            Project.created_by == user.id, Project.deleted_at.is_(None)))
    spans = db.session.execute(
        select(UserSession.created_at, UserSession.last_accessed)
        .where(UserSession.user_id == user.id)).all()
    login_seconds = sum(max((last - first).total_seconds(), 0) for first, last in spans)
    return {
        "tasks_created": tasks_created or 0,
        "tasks_completed": tasks_completed or 0,
        "projects_created": projects_created or 0,
        "total_login_time": format_duration(login_seconds),
    }


def profile(user: User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "username": user.username,
        "email": user.email,
        "full_name": user.full_name,
        "avatar_url": user.avatar_url,
        "role": user.role,
        "tier": user.tier,
        "permissions": user.permissions,
        "created_at": iso(user.created_at),
        "last_login": iso(user.last_login_at),
        "preferences": user.merged_preferences,
        "statistics": statistics(user),
    }


def update_preferences(user: User, changes: dict[str, Any]) -> dict[str, Any]:
    """Merge validated preference changes; nested objects are merged one level deep."""
    old = user.merged_preferences
    stored = dict(user.preferences or {})
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(stored.get(key), dict):
            stored[key] = {**stored[key], **value}
        else:
            stored[key] = value
    user.preferences = stored
    new = user.merged_preferences
    changed = {k: {"old": old.get(k), "new": new.get(k)}
               for k in changes if old.get(k) != new.get(k)}
    if changed:
        audit.record("user", user.id, "preferences_updated", user_id=user.id, details=changed,
                     old={k: v["old"] for k, v in changed.items()},
                     new={k: v["new"] for k, v in changed.items()})
    user.updated_at = utcnow()
    db.session.commit()
    return {"preferences": new, "updated_at": iso(user.updated_at)}
