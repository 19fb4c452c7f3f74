"""`/api/system`: version, environment, features and limits."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.api.common import blueprint, endpoint
from app.errors import envelope
from app.services import system as system_service

bp = blueprint("api_system", "/api/system", "System", "System information")


class SystemInfoData(BaseModel):
    version: str
    environment: str
    features: dict[str, Any]
    limits: dict[str, Any]


@endpoint(bp, "get", "/info", auth="read", summary="System information", data=SystemInfoData)
def info():
    """Version, environment, enabled features and configured limits."""
    return envelope(system_service.system_info())
