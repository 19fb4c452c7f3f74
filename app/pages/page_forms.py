"""Form helpers for the projects, tasks, sessions and webhooks pages (no routes here).

HTML forms send strings; the services take typed values and own every rule. These helpers only
turn form strings into the types the services expect, and turn a service's `AppError` into
messages shown next to the field that caused them. A conversion failure is raised as the same
`ValidationFailed` a service would raise, so the page shows both kinds the same way.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import g
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from app.api.validation import loads_strict
from app.errors import AppError, ValidationFailed
from app.extensions import db
from app.models.project import Project
from app.models.user import User
from app.pages import bp, localtime

FORM = "_form"  # key of errors that belong to no single field


def errors_of(exc: AppError) -> dict[str, str]:
    """{field: message} for a field error (details.field), else {FORM: message}."""
    field = (exc.details or {}).get("field")
    if field:
        return {str(field): str((exc.details or {}).get("issue") or exc.message)}
    return {FORM: exc.message}


def rollback() -> None:
    """After a refused change nothing stays half-written in this request's session."""
    db.session.rollback()


def text(form: MultiDict, key: str) -> str | None:
    """A trimmed value, or None when empty or absent."""
    value = (form.get(key) or "").strip()
    return value or None


def integer(field: str, raw: str | None) -> int | None:
    """An integer from a form string (None when empty); the service checks its range."""
    if raw is None or not str(raw).strip():
        return None
    try:
        return int(str(raw).strip())
    except ValueError:
        raise ValidationFailed(field, "must be a whole number") from None


def tag_list(raw: str | None) -> list[str]:
    """Tags typed as `backend, api security` (commas or spaces); the service normalizes them."""
    return [t for t in (raw or "").replace(",", " ").split() if t]


def json_object(field: str, raw: str | None) -> dict[str, Any]:
    """A JSON object typed in a textarea ({} when empty)."""
    if raw is None or not raw.strip():
        return {}
    try:
        value = loads_strict(raw, field)  # depth and lone surrogates as the API checks them
    except json.JSONDecodeError as exc:
        raise ValidationFailed(field, f"is not valid JSON ({exc.msg}, line {exc.lineno})",
                               code="VALIDATION_INVALID_FORMAT") from None
    if not isinstance(value, dict):
        raise ValidationFailed(field, "must be a JSON object ({...})")
    return value


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True) if value else ""


def local_input_to_utc(field: str, raw: str | None) -> datetime:
    """A `datetime-local` value typed in the viewer's own time zone, as an aware datetime."""
    if not raw:
        raise ValidationFailed(field, "Field is required", code="VALIDATION_REQUIRED_FIELD")
    try:
        naive = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(field, "must be a date and time",
                               code="VALIDATION_INVALID_FORMAT") from None
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=_zone())


def _zone() -> ZoneInfo:
    user = g.get("user") if "user" in g else None
    name = (user.merged_preferences.get("timezone") if user else None) or "UTC"
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


@bp.app_template_filter("localiso")
def localiso(value: str | datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """An ISO string from a service dict, shown in the viewer's time zone (like |localtime)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return localtime(value, fmt)


@bp.app_template_filter("localinput")
def localinput(value: str | datetime | None) -> str:
    """A time as a `datetime-local` input value in the viewer's time zone."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value is None:
        return ""
    return value.astimezone(_zone()).strftime("%Y-%m-%dT%H:%M:%S")


def project_people(project: Project) -> list[User]:
    """Who may be assigned a task of `project`: its owner and its members."""
    ids = [project.created_by, *project.member_ids]
    people = db.session.scalars(select(User).where(User.id.in_(ids)))
    return sorted(people, key=lambda u: u.display_name.lower())


def users_by_id(ids: list[str | uuid.UUID | None]) -> dict[str, User]:
    """{str(id): User} for showing names instead of ids."""
    wanted = {uuid.UUID(str(i)) for i in ids if i}
    if not wanted:
        return {}
    return {str(u.id): u for u in db.session.scalars(select(User).where(User.id.in_(wanted)))}


def active_users() -> list[User]:
    """Everyone who can be made a project member (enabled accounts)."""
    return list(db.session.scalars(select(User).where(User.is_disabled.is_(False))
                                   .order_by(User.username)))
