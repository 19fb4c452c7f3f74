"""`/api/webhooks`: subscriptions to events, their deliveries, and a test ping (CONTRACT §7).

Routes parse and delegate to `app.services.webhooks`; delivery happens on workers.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import Field

from app.api.common import blueprint, endpoint
from app.api.schemas import NO_NUL, Deleted, PageOf, PageQuery
from app.api.validation import Body, Path, Response
from app.errors import envelope
from app.models.webhook import DELIVERY_STATUSES, WEBHOOK_EVENTS
from app.security import current_user
from app.services import webhooks
from app.services.validation import parse_id

bp = blueprint("api_webhooks", "/api/webhooks", "Webhooks",
               "Signed HTTP callbacks for task, project and system events")

EventName = Literal[WEBHOOK_EVENTS]  # type: ignore[valid-type]


# What the service takes, as far as a pattern can say it: http(s) to a host *name* (literal
# addresses are checked against the refused ranges, names at each delivery).
URL_RULES = {"pattern": r"^https?://[a-z][a-z0-9-]{0,30}(?:\.[a-z][a-z0-9-]{0,30}){0,4}"
                        r"(?::[1-9][0-9]{0,3})?(?:/[A-Za-z0-9._~/-]{0,200})?$"}
SECRET_RULES = {"minLength": 16, "maxLength": 255}


class WebhookCreateBody(Body):
    url: str = Field(..., description="http:// or https:// URL", max_length=2000,
                     json_schema_extra=URL_RULES)
    events: list[EventName] = Field(..., min_length=1, max_length=len(WEBHOOK_EVENTS))
    secret: str | None = Field(None, description="HMAC key (16-255 characters); generated and "
                               "shown once when left out", pattern=NO_NUL,
                               json_schema_extra=SECRET_RULES)
    active: bool = True
    description: str | None = Field(None, max_length=500)


class WebhookUpdateBody(Body):
    url: str | None = Field(None, max_length=2000, json_schema_extra=URL_RULES)
    events: list[EventName] | None = Field(None, min_length=1, max_length=len(WEBHOOK_EVENTS))
    secret: str | None = Field(None, pattern=NO_NUL, json_schema_extra=SECRET_RULES)
    active: bool | None = None
    description: str | None = Field(None, max_length=500)


class WebhookListQuery(PageQuery):
    active: bool | None = None


class DeliveryQuery(PageQuery):
    status: Literal[DELIVERY_STATUSES] | None = None  # type: ignore[valid-type]


class WebhookPath(Path):
    webhook_id: str


class WebhookData(Response):
    id: str
    url: str
    events: list[str]
    active: bool
    description: str | None
    user_id: str
    created_at: str
    updated_at: str
    secret: str | None = Field(None, description="Only in the creation response")


class DeliveryData(Response):
    id: str
    webhook_id: str
    event: str
    status: str
    attempts: int
    max_attempts: int


def _id(path: WebhookPath) -> uuid.UUID:
    return parse_id(path.webhook_id, "WEBHOOK_NOT_FOUND")


def _page(result, serialize) -> dict[str, Any]:
    return result.to_dict(serialize)


@endpoint(bp, "post", "/", auth="write", summary="Create webhook", data=WebhookData,
          status=201)
def create_webhook(body: WebhookCreateBody):
    """Subscribe a URL to events; the secret is returned this once."""
    hook, secret = webhooks.create_webhook(current_user(), body.url, list(body.events),
                                           body.secret, body.active, body.description)
    return envelope(webhooks.webhook_dict(hook, secret=secret), status=201)


@endpoint(bp, "get", "/", auth="read", summary="List webhooks", data=PageOf[WebhookData])
def list_webhooks(query: WebhookListQuery):
    """Your webhooks (an admin's view: all)."""
    result = webhooks.list_webhooks(current_user(), query.page, query.page_size, query.active)
    return envelope(_page(result, webhooks.webhook_dict))


@endpoint(bp, "get", "/<webhook_id>", auth="read", summary="Get webhook", data=WebhookData,
          errors=[404])
def get_webhook(path: WebhookPath):
    return envelope(webhooks.webhook_dict(webhooks.get_webhook(_id(path), current_user())))


@endpoint(bp, "put", "/<webhook_id>", auth="write", summary="Update webhook",
          data=WebhookData, errors=[404])
def update_webhook(path: WebhookPath, body: WebhookUpdateBody):
    """Change URL, events, secret, active or description; what is left out keeps its value."""
    changes = body.model_dump(exclude_unset=True)
    changes = {k: v for k, v in changes.items() if v is not None or k == "description"}
    hook, secret = webhooks.update_webhook(_id(path), current_user(), changes)
    return envelope(webhooks.webhook_dict(hook, secret=secret))


@endpoint(bp, "delete", "/<webhook_id>", auth="write", summary="Delete webhook", data=Deleted,
          errors=[404])
def delete_webhook(path: WebhookPath):
    return envelope(webhooks.delete_webhook(_id(path), current_user()))


@endpoint(bp, "get", "/<webhook_id>/deliveries", auth="read", summary="List deliveries",
          data=PageOf[DeliveryData], errors=[404])
def list_deliveries(path: WebhookPath, query: DeliveryQuery):
    """Newest first, each with its attempts (status code, duration, error)."""
    result, attempts = webhooks.list_deliveries(_id(path), current_user(), query.page,
                                                query.page_size, query.status)
    return envelope(_page(result, lambda d: webhooks.delivery_dict(d, attempts[d.id])))


@endpoint(bp, "post", "/<webhook_id>/test", auth="write", summary="Send a test ping",
          data=DeliveryData, status=202, errors=[404])
def test_webhook(path: WebhookPath):
    """Queue a `ping` event to the webhook; follow it in its deliveries."""
    delivery = webhooks.send_test(_id(path), current_user())
    return envelope(webhooks.delivery_dict(delivery), status=202)
