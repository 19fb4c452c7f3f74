"""What a running hub does on its own: performance figures, counters, session keep-alive,
and the alert when Redis comes back."""

from __future__ import annotations

import logging
import uuid

from app.realtime import limits
from app.realtime.hub import Hub
from app.services import events, session_activity
from app.services import metrics as shared_metrics

log = logging.getLogger(__name__)
RECOVERY_KEY = "alerts:redis-recovered"


def broadcast_performance(hub: Hub) -> None:
    """performance_data to every socket listening on `system`, computed once for all."""
    listeners = [s for s in hub.subscribers() if "system" in s.topics and not s.closed]
    if not listeners:
        return
    from app.realtime import metrics

    data = metrics.performance()
    for sub in listeners:
        sub.offer(("perf", data))


def refresh_counters(hub: Hub) -> None:
    """This process's socket count for health, its users' connection-cap entries, and its hub
    figures (`realtime:hub:<process>`, for operators and bench/fanout.py)."""
    from app.extensions import get_redis

    subs = [s for s in hub.subscribers() if not s.closed]
    shared_metrics.set_process_websockets(len(subs), ttl=30)
    limits.refresh((s.user_id, s.id) for s in subs if s.user_id)
    key = "realtime:hub:" + shared_metrics.process_key().removeprefix(shared_metrics.WS_PREFIX)
    pipe = get_redis().pipeline(transaction=False)
    pipe.hset(key, mapping=hub.stats())
    pipe.expire(key, 30)
    pipe.execute()


def keep_sessions_alive(hub: Hub) -> None:
    """A session with an open socket is in use: it must not expire under it."""
    ids = {s.session_id for s in hub.subscribers() if s.session_id and not s.closed}
    if ids:
        session_activity.keep_alive([uuid.UUID(i) for i in ids])


def announce_redis_recovery(hub: Hub) -> None:
    """One `system.alert` per outage for the whole installation (the first process to see
    Redis back claims it)."""
    from app.extensions import get_redis

    if not get_redis().set(RECOVERY_KEY, 1, nx=True, ex=60):
        return
    events.publish(events.make_event("system.alert", {
        "alert": "redis_recovered", "level": "warning", "title": "Redis Connection Restored",
        "message": "The realtime hub lost its Redis connection and reconnected; events sent "
                   "during the outage may have been missed.",
        "details": {"reconnects": hub.reconnects}}))
