"""`client.auth`, `client.health`, `client.system`, `client.queues`, `client.users` and
`client.webhooks` (api-reference "Authentication", "Health", "System", "Queues", "Users",
CONTRACT §7 "Webhooks")."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, Literal

from claude_cli_sdk import _base
from claude_cli_sdk._async import _compat
from claude_cli_sdk._async.http import AsyncTransport
from claude_cli_sdk._base import body, operation, path_id, query
from claude_cli_sdk._records import NOT_GIVEN, Page
from claude_cli_sdk.models import (
    ClearData,
    Deleted,
    DeliveryData,
    DetailedHealthData,
    HealthData,
    LoginData,
    LogoutData,
    PreferencesData,
    PriorityData,
    ProfileData,
    QueueMetricsData,
    QueueStateData,
    QueueStatusData,
    RefreshData,
    SystemInfoData,
    WebhookData,
)

QueueName = Literal["high", "normal", "low", "high_priority", "normal_priority", "low_priority"]


class AsyncAuth:
    """Log in (the client keeps both tokens), refresh, log out."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    @operation("POST", "/api/auth/login")
    async def login(self, username: str, password: str) -> LoginData:
        return LoginData(await self._t.login(username, password))

    @operation("POST", "/api/auth/refresh")
    async def refresh(self) -> RefreshData:
        """A new access token from the refresh token (done for you when one expires)."""
        return RefreshData(await self._t.refresh())

    @operation("POST", "/api/auth/logout")
    async def logout(self) -> LogoutData:
        """Revoke this login's tokens; the client forgets them."""
        data = await self._t.request("POST", "/auth/logout")
        self._t.access_token = None
        self._t.refresh_token = None
        return LogoutData(data)


class AsyncHealth:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    @operation("GET", "/api/health/")
    async def check(self) -> HealthData:
        """Whether the web process answers (no login needed)."""
        return HealthData(await self._t.request("GET", "/health/", auth=None))

    @operation("GET", "/api/health/detailed")
    async def detailed(self) -> DetailedHealthData:
        """Database, Redis, workers, sockets and request figures. A degraded or unhealthy
        server answers 503 with the checks: they are in the error's `body["data"]`."""
        return DetailedHealthData(await self._t.request("GET", "/health/detailed", auth=None))


class AsyncSystem:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    @operation("GET", "/api/system/info")
    async def info(self) -> SystemInfoData:
        return SystemInfoData(await self._t.request("GET", "/system/info"))


class AsyncQueues:
    """The high, normal and low queues: figures for everyone, control for admins."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    @operation("GET", "/api/queues/status")
    async def status(self) -> QueueStatusData:
        return QueueStatusData(await self._t.request("GET", "/queues/status"))

    @operation("POST", "/api/queues/pause")
    async def pause(self, queue_name: QueueName, reason: str | None = None) -> QueueStateData:
        return QueueStateData(await self._t.request("POST", "/queues/pause", json=body(
            queue_name=queue_name, reason=reason)))

    @operation("POST", "/api/queues/resume")
    async def resume(self, queue_name: QueueName) -> QueueStateData:
        return QueueStateData(await self._t.request("POST", "/queues/resume", json=body(
            queue_name=queue_name)))

    @operation("DELETE", "/api/queues/clear")
    async def clear(self, queue_name: QueueName, *, confirm: bool = False) -> ClearData:
        """Remove every job of the queue (`confirm=True` is required); their tasks end
        `cancelled`."""
        return ClearData(await self._t.request("DELETE", "/queues/clear", json=body(
            queue_name=queue_name, confirm=confirm)))

    @operation("GET", "/api/queues/metrics")
    async def metrics(self, *, period: str | None = None) -> QueueMetricsData:
        return QueueMetricsData(await self._t.request("GET", "/queues/metrics",
                                                      params=query(period=period)))

    @operation("POST", "/api/queues/priority")
    async def set_priority(self, task_ids: Iterable[Any],
                           priority: Literal["high", "normal", "low"]) -> PriorityData:
        """Move queued tasks to another queue, keeping their jobs."""
        return PriorityData(await self._t.request("POST", "/queues/priority", json=body(
            task_ids=_base.strs(task_ids), priority=priority)))


class AsyncUsers:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    @operation("GET", "/api/users/profile")
    async def profile(self) -> ProfileData:
        return ProfileData(await self._t.request("GET", "/users/profile"))

    @operation("PUT", "/api/users/preferences")
    async def update_preferences(self, *, theme: Literal["light", "dark"] | None = NOT_GIVEN,
                                 language: str | None = NOT_GIVEN,
                                 timezone: str | None = NOT_GIVEN,
                                 notifications: Mapping[str, bool] | None = NOT_GIVEN,
                                 dashboard_layout: Mapping[str, Any] | None = NOT_GIVEN
                                 ) -> PreferencesData:
        return PreferencesData(await self._t.request("PUT", "/users/preferences", json=body(
            theme=theme, language=language, timezone=timezone, notifications=notifications,
            dashboard_layout=dashboard_layout)))


class AsyncWebhooks:
    """Signed callbacks for task, project and system events."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    @operation("POST", "/api/webhooks/")
    async def create(self, url: str, events: Iterable[str], *, secret: str | None = NOT_GIVEN,
                     active: bool = NOT_GIVEN,
                     description: str | None = NOT_GIVEN) -> WebhookData:
        """A new webhook; its `secret` is shown in this answer only."""
        return WebhookData(await self._t.request("POST", "/webhooks/", json=body(
            url=url, events=list(events), secret=secret, active=active,
            description=description)))

    @operation("GET", "/api/webhooks/")
    async def list(self, *, active: bool | None = None, page: int | None = None,
                   page_size: int | None = None,
                   order: Literal["asc", "desc"] | None = None) -> Page[WebhookData]:
        data = await self._t.request("GET", "/webhooks/", params=query(
            active=active, page=page, page_size=page_size, order=order))
        return Page(data, WebhookData)

    async def iter(self, *, page_size: int = 100, **filters: Any) -> AsyncIterator[WebhookData]:
        async for item in _compat.pages(
                lambda n: self.list(page=n, page_size=page_size, **filters)):
            yield item

    @operation("GET", "/api/webhooks/{webhook_id}")
    async def get(self, webhook_id: Any) -> WebhookData:
        return WebhookData(await self._t.request("GET", f"/webhooks/{path_id(webhook_id)}"))

    @operation("PUT", "/api/webhooks/{webhook_id}")
    async def update(self, webhook_id: Any, *, url: str | None = NOT_GIVEN,
                     events: Iterable[str] | None = NOT_GIVEN, secret: str | None = NOT_GIVEN,
                     active: bool | None = NOT_GIVEN,
                     description: str | None = NOT_GIVEN) -> WebhookData:
        events_value = list(events) if events not in (None, NOT_GIVEN) else events
        return WebhookData(await self._t.request(
            "PUT", f"/webhooks/{path_id(webhook_id)}",
            json=body(url=url, events=events_value, secret=secret, active=active,
                      description=description)))

    @operation("DELETE", "/api/webhooks/{webhook_id}")
    async def delete(self, webhook_id: Any) -> Deleted:
        return Deleted(await self._t.request("DELETE", f"/webhooks/{path_id(webhook_id)}"))

    @operation("GET", "/api/webhooks/{webhook_id}/deliveries")
    async def deliveries(self, webhook_id: Any, *,
                         status: Literal["pending", "retrying", "succeeded", "failed"]
                         | None = None, page: int | None = None, page_size: int | None = None,
                         order: Literal["asc", "desc"] | None = None) -> Page[DeliveryData]:
        """One page of deliveries, each with its attempts."""
        data = await self._t.request("GET", f"/webhooks/{path_id(webhook_id)}/deliveries",
                                     params=query(status=status, page=page,
                                                  page_size=page_size, order=order))
        return Page(data, DeliveryData)

    async def iter_deliveries(self, webhook_id: Any, *, page_size: int = 100,
                              **filters: Any) -> AsyncIterator[DeliveryData]:
        async for item in _compat.pages(lambda n: self.deliveries(
                webhook_id, page=n, page_size=page_size, **filters)):
            yield item

    @operation("POST", "/api/webhooks/{webhook_id}/test")
    async def test(self, webhook_id: Any) -> DeliveryData:
        """Queue a `ping` delivery to the webhook's URL."""
        return DeliveryData(await self._t.request(
            "POST", f"/webhooks/{path_id(webhook_id)}/test"))
