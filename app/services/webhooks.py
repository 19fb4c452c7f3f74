"""Webhooks (CONTRACT §7): subscriptions — create, read, change, delete, deliveries log, test.

How events reach them (the sink, fan-out and delivery by workers) is `webhook_delivery`.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from app.errors import AppError, ValidationFailed, iso, utcnow
from app.extensions import db
from app.models.user import User
from app.models.webhook import WEBHOOK_EVENTS, Webhook, WebhookAttempt, WebhookDelivery
from app.services import audit, events, webhook_targets
from app.services.pagination import Page, paginate
from app.services.webhook_delivery import (  # noqa: F401 - delivery_dict: serializer of both
    _enqueue_delivery,
    _new_delivery,
    _types_changed,
    delivery_dict,
)

log = logging.getLogger(__name__)
SECRET_MIN, SECRET_MAX = 16, 255


# ---------------------------------------------------------------- serializers

def webhook_dict(hook: Webhook, secret: str | None = None) -> dict[str, Any]:
    out = {"id": str(hook.id), "url": hook.url, "events": list(hook.events or []),
           "active": hook.active, "description": hook.description,
           "user_id": str(hook.user_id), "created_at": iso(hook.created_at),
           "updated_at": iso(hook.updated_at)}
    if secret is not None:
        out["secret"] = secret  # shown once, at creation (or when set again)
    return out


# ---------------------------------------------------------------- validation

def clean_url(url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise ValidationFailed("url", "Field is required", code="VALIDATION_REQUIRED_FIELD")
    url = url.strip()
    if len(url) > 2000:
        raise ValidationFailed("url", "at most 2000 characters", code="VALIDATION_VALUE_TOO_LONG")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValidationFailed("url", "must be an http or https URL",
                               code="VALIDATION_INVALID_FORMAT")
    if not parts.hostname:
        raise ValidationFailed("url", "must name a host", code="VALIDATION_INVALID_FORMAT")
    try:
        parts.port  # noqa: B018 - raises on an invalid port
    except ValueError:
        raise ValidationFailed("url", "has an invalid port",
                               code="VALIDATION_INVALID_FORMAT") from None
    reason = webhook_targets.literal_refusal(parts.hostname)
    if reason:
        raise ValidationFailed("url", f"must not point at {reason}",
                               code="VALIDATION_INVALID_FORMAT")
    return url


def clean_events(values: Any) -> list[str]:
    if not isinstance(values, list) or not values:
        raise ValidationFailed("events", "must be a non-empty list of event names",
                               allowed=list(WEBHOOK_EVENTS))
    unknown = [v for v in values if v not in WEBHOOK_EVENTS]
    if unknown:
        raise ValidationFailed("events", f"unknown event {unknown[0]!r}",
                               allowed=list(WEBHOOK_EVENTS))
    return list(dict.fromkeys(values))


def clean_secret(value: Any) -> str:
    if not isinstance(value, str) or not SECRET_MIN <= len(value) <= SECRET_MAX:
        raise ValidationFailed("secret", f"must be {SECRET_MIN}-{SECRET_MAX} characters",
                               code="VALIDATION_VALUE_TOO_SHORT" if isinstance(value, str)
                               and len(value) < SECRET_MIN else "VALIDATION_ERROR")
    return value


# ---------------------------------------------------------------- management

def create_webhook(user: User, url: Any, event_names: Any, secret: Any = None,
                   active: bool = True, description: str | None = None
                   ) -> tuple[Webhook, str]:
    plain = clean_secret(secret) if secret is not None else secrets.token_urlsafe(32)
    hook = Webhook(id=uuid.uuid4(), user_id=user.id, url=clean_url(url),
                   events=clean_events(event_names), secret=plain, active=bool(active),
                   description=description)
    db.session.add(hook)
    db.session.flush()
    audit.record("webhook", hook.id, "created", user_id=user.id, new=webhook_dict(hook))
    events.emit("webhook.created", webhook_dict(hook), webhook_id=hook.id, user_id=user.id)
    db.session.commit()
    _types_changed()
    return hook, plain


def get_webhook(webhook_id: uuid.UUID, user: User) -> Webhook:
    """The webhook if it exists and `user` owns it (admins: any)."""
    hook = db.session.get(Webhook, webhook_id)
    if hook is None or hook.deleted_at is not None or (
            hook.user_id != user.id and not user.is_admin):
        raise AppError("WEBHOOK_NOT_FOUND")
    return hook


def list_webhooks(user: User, page: int, page_size: int, active: bool | None = None) -> Page:
    query = select(Webhook).where(Webhook.deleted_at.is_(None))
    if not user.is_admin:
        query = query.where(Webhook.user_id == user.id)
    if active is not None:
        query = query.where(Webhook.active.is_(active))
    return paginate(query.order_by(Webhook.created_at.desc(), Webhook.id), page, page_size)


def update_webhook(webhook_id: uuid.UUID, user: User, changes: dict[str, Any]
                   ) -> tuple[Webhook, str | None]:
    hook = get_webhook(webhook_id, user)
    cleaners: dict[str, Callable[[Any], Any]] = {
        "url": clean_url, "events": clean_events, "secret": clean_secret, "active": bool,
        "description": lambda v: v}
    new_secret = None
    for field, value in changes.items():
        value = cleaners[field](value)
        old = getattr(hook, field)
        if old == value:
            continue
        setattr(hook, field, value)
        shown = "(changed)" if field == "secret" else value
        audit.record("webhook", hook.id, "updated", user_id=user.id, field=field,
                     old="(hidden)" if field == "secret" else old, new=shown)
        if field == "secret":
            new_secret = value
    if db.session.dirty:
        hook.updated_at = utcnow()
        events.emit("webhook.updated", webhook_dict(hook), webhook_id=hook.id, user_id=user.id)
    db.session.commit()
    _types_changed()
    return hook, new_secret


def delete_webhook(webhook_id: uuid.UUID, user: User) -> dict[str, Any]:
    hook = get_webhook(webhook_id, user)
    now = utcnow()
    hook.deleted_at = now
    hook.active = False
    audit.record("webhook", hook.id, "deleted", user_id=user.id)
    events.emit("webhook.deleted", {"id": str(hook.id), "deleted_at": iso(now)},
                webhook_id=hook.id, user_id=user.id)
    db.session.commit()
    _types_changed()
    return {"message": "Webhook deleted successfully", "id": str(hook.id),
            "deleted_at": iso(now)}


def list_deliveries(webhook_id: uuid.UUID, user: User, page: int, page_size: int,
                    status: str | None = None) -> tuple[Page, dict[uuid.UUID, list]]:
    hook = get_webhook(webhook_id, user)
    query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)
    if status:
        query = query.where(WebhookDelivery.status == status)
    result = paginate(query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id),
                      page, page_size)
    ids = [d.id for d in result.items]
    attempts: dict[uuid.UUID, list] = {i: [] for i in ids}
    if ids:
        for a in db.session.scalars(select(WebhookAttempt).where(
                WebhookAttempt.delivery_id.in_(ids)).order_by(WebhookAttempt.attempt_number)):
            attempts[a.delivery_id].append(a)
    return result, attempts


def send_test(webhook_id: uuid.UUID, user: User) -> WebhookDelivery:
    """A `ping` delivery, sent by a worker like any other (inactive webhooks too)."""
    hook = get_webhook(webhook_id, user)
    event = events.make_event("ping", {"message": "Test delivery", "webhook_id": str(hook.id),
                                       "url": hook.url}, user_id=user.id)
    delivery = _new_delivery(hook, event)
    audit.record("webhook", hook.id, "test_sent", user_id=user.id,
                 details={"delivery_id": str(delivery.id)})
    events.emit("webhook.test", {"webhook_id": str(hook.id), "delivery_id": str(delivery.id)},
                webhook_id=hook.id, user_id=user.id)
    db.session.commit()
    _enqueue_delivery(delivery.id)
    return delivery


