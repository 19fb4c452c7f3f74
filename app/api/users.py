"""`/api/users`: the caller's profile and preferences."""

from __future__ import annotations

from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator

from app.api.common import blueprint, endpoint
from app.api.validation import Body
from app.errors import envelope
from app.security import current_user
from app.services import users as user_service

bp = blueprint("api_users", "/api/users", "Users", "The caller's profile and preferences")

ZONE_SHAPE = r"^(?:UTC|[A-Z][A-Za-z_]{1,20}(?:/[A-Z][A-Za-z_+-]{1,20}){1,2})$"  # must also exist
WIDGETS = ("tasks", "projects", "performance", "queues", "activity", "commands")


class NotificationPrefs(Body):
    email: bool | None = None
    push: bool | None = None
    task_updates: bool | None = None
    project_updates: bool | None = None


class DashboardLayout(Body):
    widgets: list[Literal[WIDGETS]] | None = Field(None, max_length=len(WIDGETS))  # type: ignore[valid-type]
    columns: int | None = Field(None, ge=1, le=6)


class PreferencesBody(Body):
    theme: Literal["light", "dark"] | None = None
    language: str | None = Field(None, pattern=r"^[a-z]{2}(-[A-Z]{2})?$",
                                 description="BCP 47 language, e.g. en or pt-BR")
    timezone: str | None = Field(None, max_length=64, description="An IANA time zone name",
                                 examples=["Europe/Paris"],
                                 json_schema_extra={"pattern": ZONE_SHAPE})
    notifications: NotificationPrefs | None = None
    dashboard_layout: DashboardLayout | None = None

    @field_validator("timezone")
    @classmethod
    def _real_zone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone") from None
        return value


class ProfileData(BaseModel):
    id: str
    username: str
    email: str | None
    full_name: str | None
    avatar_url: str | None
    role: str
    tier: str
    permissions: list[str]
    created_at: str
    last_login: str | None
    preferences: dict[str, Any]
    statistics: dict[str, Any]


class PreferencesData(BaseModel):
    preferences: dict[str, Any]
    updated_at: str


@endpoint(bp, "get", "/profile", auth="read", summary="Get user profile", data=ProfileData)
def profile():
    """The caller's profile, preferences and statistics computed from their data."""
    return envelope(user_service.profile(current_user()))


@endpoint(bp, "put", "/preferences", auth="read", summary="Update user preferences",
          data=PreferencesData)
def preferences(body: PreferencesBody):
    """Change some preferences; what is left out keeps its value. Viewers may do this too."""
    changes = body.model_dump(exclude_none=True)
    return envelope(user_service.update_preferences(current_user(), changes))
