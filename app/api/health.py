"""`/api/health`: liveness and detailed checks (no auth, for load balancers and operators)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.api.common import blueprint, endpoint
from app.errors import envelope
from app.security import PUBLIC
from app.services import health as health_service

bp = blueprint("api_health", "/api/health", "Health", "Liveness and dependency checks")


class HealthData(BaseModel):
    status: str
    timestamp: str
    uptime: int
    version: str


class DetailedHealthData(BaseModel):
    status: str
    timestamp: str
    uptime: int
    checks: dict[str, dict[str, Any]]
    metrics: dict[str, float] | None


@endpoint(bp, "get", "/", auth=PUBLIC, summary="Health check", data=HealthData)
def health():
    """The process answers: status, uptime in seconds, version."""
    return envelope(health_service.basic())


@endpoint(bp, "get", "/detailed", auth=PUBLIC, summary="Detailed health check",
          data=DetailedHealthData, data_statuses=[503])
def detailed():
    """Database, Redis, workers and websockets checked for real; 503 unless all are healthy."""
    report, status = health_service.detailed()
    return envelope(report, status=status)
