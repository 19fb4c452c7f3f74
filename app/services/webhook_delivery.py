"""Webhook delivery (CONTRACT §7): from an event to a signed POST, by workers.

Flow: every event goes through `events.emit`/`publish`; `sink` (an event sink, running after
commit in whatever process emitted) enqueues one `fanout` job per webhook event type that some
active webhook wants. `fanout` (worker) writes one delivery per matching webhook whose owner
may see the event, with the exact body to send, then enqueues `deliver` for each. `deliver`
makes one attempt (HMAC-SHA256 of those bytes in `X-Signature-256`, hard time limit), records
it, and either finishes the delivery or schedules the next attempt with exponential backoff
(RQ's scheduler, `enqueue_in`), up to `max_attempts`.

Settings (app config, else environment, else default): WEBHOOK_TIMEOUT (5 s),
WEBHOOK_MAX_ATTEMPTS (5), WEBHOOK_BACKOFF_SECONDS (10: 10, 20, 40, 80 s...),
WEBHOOK_BACKOFF_MAX (3600), WEBHOOK_ALLOW_PRIVATE (on; see app.services.webhook_targets).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import redis
from rq import Queue
from sqlalchemy import select

from app.errors import iso, utcnow
from app.extensions import db, get_redis
from app.models.project import Project
from app.models.user import User
from app.models.webhook import WEBHOOK_EVENTS, Webhook, WebhookAttempt, WebhookDelivery
from app.services import audit, engine_config, events
from app.services.access import can_access

log = logging.getLogger(__name__)
QUEUE = "high"
TYPES_KEY = "webhooks:event-types"
VERSION_KEY = "webhooks:version"
_BUILT = "__built__"
DEFAULTS: dict[str, Any] = {"WEBHOOK_TIMEOUT": 5.0, "WEBHOOK_MAX_ATTEMPTS": 5,
                             "WEBHOOK_BACKOFF_SECONDS": 10.0, "WEBHOOK_BACKOFF_MAX": 3600.0,
                             "WEBHOOK_ALLOW_PRIVATE": True}


def delivery_dict(d: WebhookDelivery, attempts: list[WebhookAttempt] | None = None
                  ) -> dict[str, Any]:
    out = {"id": str(d.id), "webhook_id": str(d.webhook_id), "event": d.event_type,
           "status": d.status, "attempts": d.attempts, "max_attempts": d.max_attempts,
           "last_status_code": d.last_status_code, "last_error": d.last_error,
           "next_attempt_at": iso(d.next_attempt_at), "created_at": iso(d.created_at),
           "delivered_at": iso(d.delivered_at)}
    if attempts is not None:
        out["attempt_log"] = [{"attempt": a.attempt_number, "status_code": a.status_code,
                               "duration_ms": a.duration_ms, "error": a.error,
                               "response_excerpt": a.response_excerpt,
                               "timestamp": iso(a.created_at)} for a in attempts]
    return out


def setting(name: str) -> Any:
    """A webhook setting: app config, else environment, else DEFAULTS (engine_config's reader)."""
    return engine_config.setting(name, DEFAULTS)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff(attempt: int) -> float:
    """Seconds before attempt `attempt + 1`: base, 2×base, 4×base, ... capped."""
    return min(setting("WEBHOOK_BACKOFF_SECONDS") * 2 ** (attempt - 1),
               setting("WEBHOOK_BACKOFF_MAX"))


# ---------------------------------------------------------------- dispatch (any process)

def sink(event: dict[str, Any]) -> None:
    """Event sink: hand webhook events to a worker; never blocks on receivers, writes nothing."""
    sink_many([event])


def sink_many(batch: list[dict[str, Any]], known: set[bytes] | None = None) -> None:
    """`sink` for the events of one commit: the wanted event types are read once for all
    (`known`: already read, see `sink_prefetch`)."""
    wanted = [event for event in batch if event.get("event") in WEBHOOK_EVENTS]
    if not wanted:
        return
    try:
        if known is None:
            known = get_redis().smembers(TYPES_KEY)
        if not known:
            rebuild_types()
            known = get_redis().smembers(TYPES_KEY)
        for event in wanted:
            kind = event["event"]
            if known and kind.encode() not in known:
                continue  # no active webhook wants this event type
            Queue(QUEUE, connection=get_redis()).enqueue(
                "app.jobs.webhooks.fanout_event", event, job_timeout=60, result_ttl=0,
                description=f"webhooks: {kind}")
    except (redis.RedisError, OSError):
        log.warning("webhook dispatch of %s skipped: Redis unavailable",
                    ", ".join(event["event"] for event in wanted))


def sink_prefetch(pipe, batch: list[dict[str, Any]]) -> bool:
    """Queue the read `sink_many` needs in the pipeline that publishes `batch` (True if any)."""
    if any(event.get("event") in WEBHOOK_EVENTS for event in batch):
        pipe.smembers(TYPES_KEY)
        return True
    return False


sink.many = sink_many  # type: ignore[attr-defined]  # events.publish_committed batches
sink.prefetch = sink_prefetch  # type: ignore[attr-defined]


def _types_changed() -> None:
    """After a webhook change commits: the cached set of wanted event types is stale."""
    try:
        pipe = get_redis().pipeline()
        pipe.incr(VERSION_KEY)
        pipe.delete(TYPES_KEY)
        pipe.execute()
    except (redis.RedisError, OSError):
        log.warning("webhook event-type cache not invalidated: Redis unavailable")


def rebuild_types() -> None:
    """Cache which event types active webhooks want; skipped if a change raced with us."""
    r = get_redis()
    with r.pipeline() as pipe:
        try:
            pipe.watch(VERSION_KEY)
            wanted: set[str] = {_BUILT}
            # Its own connection: the sink calls this right after a commit, when the
            # session that committed may not run SQL any more.
            with db.engine.connect() as conn:
                for names in conn.scalars(select(Webhook.events).where(
                        Webhook.active.is_(True), Webhook.deleted_at.is_(None))):
                    wanted.update(names or [])
            pipe.multi()
            pipe.delete(TYPES_KEY)
            pipe.sadd(TYPES_KEY, *wanted)
            pipe.expire(TYPES_KEY, 3600)
            pipe.execute()
        except redis.WatchError:
            pass


# ---------------------------------------------------------------- delivery (workers)

def may_see(owner: User, event: dict[str, Any]) -> bool:
    """A webhook receives the events of what its owner may see (an admin's: all). System
    events are for everyone, except those about one project (a budget alert): its people."""
    if owner.is_disabled:
        return False
    project_id = (event.get("scope") or {}).get("project_id")
    if owner.is_admin or (str(event.get("event", "")).startswith("system.")
                          and not project_id):
        return True
    if not project_id:
        return (event.get("scope") or {}).get("user_id") == str(owner.id)
    project = db.session.get(Project, uuid.UUID(project_id))
    return project is not None and can_access(owner, project)


def fanout(event: dict[str, Any]) -> list[uuid.UUID]:
    """One delivery per active webhook that wants `event` and whose owner may see it."""
    kind = event.get("event")
    if not get_redis().exists(TYPES_KEY):
        rebuild_types()
    hooks = [h for h in db.session.scalars(select(Webhook).where(
        Webhook.active.is_(True), Webhook.deleted_at.is_(None))) if kind in (h.events or [])]
    created = []
    for hook in hooks:
        owner = db.session.get(User, hook.user_id)
        if owner is not None and may_see(owner, event):
            created.append(_new_delivery(hook, event).id)
    db.session.commit()
    for delivery_id in created:
        _enqueue_delivery(delivery_id)
    return created


def payload_data(event: dict[str, Any]) -> dict[str, Any]:
    """An event's `data` as webhooks send it: the one place the payload's fields are decided.

    Every `task.*` payload leads with the reference's `task_id`, `project_id` and `status`
    (api-reference.md, Webhook Payload Format), whichever service emitted it: edits, creation
    and clones carry the whole task (`id` there) and status moves a short record, so the ids
    are taken from the data or the event's scope and `id` is not repeated. `project.*` payloads
    likewise lead with `project_id`. Other events go as emitted."""
    data = dict(event.get("data") or {})
    scope = event.get("scope") or {}
    kind = str(event.get("event") or "")
    if kind.startswith("task."):
        task_id = data.pop("task_id", None) or scope.get("task_id") or data.get("id")
        data.pop("id", None)
        head = {"task_id": task_id,
                "project_id": data.pop("project_id", None) or scope.get("project_id"),
                "status": data.pop("status", None)}
        return {**head, **data}
    if kind.startswith("project."):
        project_id = data.pop("project_id", None) or scope.get("project_id") or data.get("id")
        data.pop("id", None)
        return {"project_id": project_id, **data}
    return data


def _new_delivery(hook: Webhook, event: dict[str, Any]) -> WebhookDelivery:
    delivery_id = uuid.uuid4()
    payload = {"event": event["event"], "timestamp": event.get("timestamp") or iso(utcnow()),
               "data": payload_data(event), "webhook_id": str(hook.id),
               "delivery_id": str(delivery_id)}
    delivery = WebhookDelivery(id=delivery_id, webhook_id=hook.id, event_type=event["event"],
                               body=json.dumps(payload, separators=(",", ":"), default=str),
                               status="pending", attempts=0,
                               max_attempts=int(setting("WEBHOOK_MAX_ATTEMPTS")))
    db.session.add(delivery)
    db.session.flush()
    return delivery


def _enqueue_delivery(delivery_id: uuid.UUID, delay: float = 0.0) -> None:
    queue = Queue(QUEUE, connection=get_redis())
    options = {"job_timeout": int(setting("WEBHOOK_TIMEOUT")) + 30, "result_ttl": 0,
               "description": f"webhook delivery {delivery_id}"}
    if delay > 0:
        queue.enqueue_in(timedelta(seconds=delay), "app.jobs.webhooks.deliver",
                         str(delivery_id), **options)
    else:
        queue.enqueue("app.jobs.webhooks.deliver", str(delivery_id), **options)


def deliver(delivery_id: uuid.UUID, post: Callable[..., Any]) -> str:
    """One attempt through `post(url, body, headers, timeout)` (the job's HTTP client);
    returns the delivery's status afterwards."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.status in ("succeeded", "failed"):
        return delivery.status if delivery else "missing"
    hook = db.session.get(Webhook, delivery.webhook_id)
    if hook is None or hook.deleted_at is not None or (
            not hook.active and delivery.event_type != "ping"):
        return _finish(delivery, "failed", None, "webhook deleted or inactive")
    body = delivery.body.encode()
    number = delivery.attempts + 1
    headers = {"Content-Type": "application/json", "User-Agent": "claude-cli-web-ui-webhooks/1",
               "X-Signature-256": sign(hook.secret, body), "X-Delivery-ID": str(delivery.id),
               "X-Event-Type": delivery.event_type, "X-Webhook-ID": str(hook.id),
               "X-Delivery-Attempt": str(number)}
    result = post(hook.url, body, headers, setting("WEBHOOK_TIMEOUT"))
    db.session.add(WebhookAttempt(delivery_id=delivery.id, attempt_number=number,
                                  status_code=result.status_code, duration_ms=result.duration_ms,
                                  error=result.error, response_excerpt=result.excerpt))
    delivery.attempts = number
    delivery.last_status_code = result.status_code
    delivery.last_error = result.error
    if result.ok:
        delivery.delivered_at = utcnow()
        return _finish(delivery, "succeeded", hook.user_id)
    if number >= delivery.max_attempts:
        return _finish(delivery, "failed", hook.user_id, result.error or
                       f"HTTP {result.status_code}")
    delay = backoff(number)
    delivery.status = "retrying"
    delivery.next_attempt_at = utcnow() + timedelta(seconds=delay)
    db.session.commit()
    _enqueue_delivery(delivery.id, delay)
    return "retrying"


def _finish(delivery: WebhookDelivery, status: str, owner_id: uuid.UUID | None,
            error: str | None = None) -> str:
    delivery.status = status
    delivery.next_attempt_at = None
    if error and not delivery.last_error:
        delivery.last_error = error
    audit.record("webhook_delivery", delivery.id, status, user_id=None, field="status",
                 new=status, details={"webhook_id": str(delivery.webhook_id),
                                      "event": delivery.event_type,
                                      "attempts": delivery.attempts, "error": error})
    events.emit(f"webhook.delivery_{status}", delivery_dict(delivery),
                webhook_id=delivery.webhook_id, user_id=owner_id)
    db.session.commit()
    return status
