"""The hub: one Redis pub/sub listener thread per web process hands events to its sockets.

Why one thread: a pub/sub connection per socket would cost Redis a connection and a thread per
client; one listener per process receives each message once and fans it out in memory.

Protocol-independent on purpose (the JSON socket and the HTML pages' socket both use it):

    sub = Subscriber(accepts=lambda event: ..., user_id=..., max_pending=1000)
    hub = get_hub(app); hub.register(sub)
    hub.subscribe_channel(sub, output_channel("command", cid))  # returns once Redis confirmed
    for item in sub.get_batch(timeout=1.0): ...                 # ("event", dict) |
                                                                # ("output", OutputBatch) | ...
    hub.unregister(sub)

Items a subscriber receives:
  ("event", event)          an event of `EVENTS_CHANNEL` that `accepts(event)` let through
  ("output", OutputBatch)   a batch of output lines of a channel the subscriber subscribed to
  ("perf", data)            performance figures (subscribers with "system" in `topics`)
  ("hub", "down" | "up")    Redis went away / came back (after "up", re-read what you stream)
and whatever the owner puts in itself with `put_control` (client messages, "closed").

Guarantees: the listener never blocks on a client. Each subscriber has a bounded queue (weight =
lines); when it would overflow the subscriber is flagged `overflowed` and gets nothing more, so
its owner can tell the client and disconnect it (never a silent skip). Subscribing waits for
Redis's confirmation, so a caller that subscribes first and then reads stored output cannot
miss a line. When Redis drops, the listener reconnects with backoff, re-subscribes everything
and tells every subscriber.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

import redis
from flask import Flask
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.realtime.subscriber import Item, OutputBatch, Subscriber
from app.services.events import EVENTS_CHANNEL

log = logging.getLogger(__name__)
_EXT_KEY = "realtime_hub"
_hub_lock = threading.Lock()


class _Channel:
    """A Redis channel some subscribers want; `ready` is set once Redis confirmed it."""

    __slots__ = ("ready", "subscribers")

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.subscribers: frozenset[Subscriber] = frozenset()


class Hub:
    """The per-process listener and ticker threads, and who is subscribed to what."""

    def __init__(self, app: Flask, redis_url: str | None = None) -> None:
        self.app = app
        self.redis_url = redis_url or app.config["REDIS_URL"]
        self.pid = os.getpid()
        self.wake_channel = f"hub:wake:{uuid.uuid4().hex}"
        self.connected = threading.Event()
        self.reconnects = 0
        self.messages = 0
        self.direct = 0   # output batches written straight to a socket by the listener
        self.queued = 0   # ... and handed to the socket's own thread instead
        self._lock = threading.Lock()
        self._subscribers: tuple[Subscriber, ...] = ()
        self._channels: dict[str, _Channel] = {}
        self._ops: deque[tuple[str, str, _Channel | None]] = deque()
        self._awaiting: dict[str, deque[_Channel | None]] = defaultdict(deque)
        self._resync_pending: set[str] | None = None
        self._ever_connected = False
        self._periodic: list[dict[str, Any]] = []
        self._on_reconnect: list[Callable[[Hub], None]] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._client = redis.Redis.from_url(self.redis_url, socket_connect_timeout=2,
                                            socket_timeout=5)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> Hub:
        for name, target in (("listener", self._listener_main), ("ticker", self._ticker_main)):
            thread = threading.Thread(target=target, name=f"realtime-hub-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake()
        for thread in self._threads:
            thread.join(timeout)

    def add_periodic(self, name: str, interval: float | Callable[[], float],
                     fn: Callable[[Hub], None]) -> None:
        """Run `fn(hub)` every `interval` seconds (a number, or a function read each time) on
        the ticker thread, inside an app context."""
        self._periodic.append({"name": name, "interval": interval, "fn": fn, "next": 0.0})

    def add_reconnect_hook(self, fn: Callable[[Hub], None]) -> None:
        """Run `fn(hub)` on the listener thread after Redis came back (re-subscribed)."""
        self._on_reconnect.append(fn)

    # ------------------------------------------------------------ subscribers

    def register(self, sub: Subscriber) -> None:
        with self._lock:
            self._subscribers = (*self._subscribers, sub)

    def unregister(self, sub: Subscriber) -> None:
        with self._lock:
            self._subscribers = tuple(s for s in self._subscribers if s is not sub)
            owned = [name for name, ch in self._channels.items() if sub in ch.subscribers]
        for name in owned:
            self.unsubscribe_channel(sub, name)
        sub.closed = True

    def subscribers(self) -> tuple[Subscriber, ...]:
        return self._subscribers

    def subscribe_channel(self, sub: Subscriber, channel: str, timeout: float = 5.0) -> bool:
        """Deliver `channel`'s messages to `sub`; True once Redis confirmed the subscription
        (False on timeout, e.g. Redis down: a later ("hub", "up") item follows then)."""
        with self._lock:
            state = self._channels.get(channel)
            new = state is None
            if new:
                state = self._channels[channel] = _Channel()
                self._ops.append(("sub", channel, state))
            state.subscribers = state.subscribers | {sub}
        if new:
            self._wake()
        return state.ready.wait(timeout)

    def unsubscribe_channel(self, sub: Subscriber, channel: str) -> None:
        with self._lock:
            state = self._channels.get(channel)
            if state is None or sub not in state.subscribers:
                return
            state.subscribers = state.subscribers - {sub}
            if not state.subscribers:
                del self._channels[channel]
                self._ops.append(("unsub", channel, None))

    def channel_count(self) -> int:
        return len(self._channels)

    def stats(self) -> dict[str, int]:
        subs = self._subscribers
        return {"sockets": len(subs), "channels": len(self._channels),
                "messages": self.messages, "direct": self.direct, "queued": self.queued,
                "dropped": sum(s.dropped for s in subs), "reconnects": self.reconnects}

    def _wake(self) -> None:
        """Make the listener look at pending (un)subscribe requests right away."""
        try:
            self._client.publish(self.wake_channel, b"")
        except redis.RedisError:
            pass  # the listener is reconnecting and will pick the request up then

    # ------------------------------------------------------------ listener thread

    def _listener_main(self) -> None:
        backoff = 0.1
        with self.app.app_context():
            while not self._stop.is_set():
                pubsub = None
                try:
                    pubsub = self._connect()
                    backoff = 0.1
                    self._listen(pubsub)
                except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                    if self.connected.is_set():
                        log.warning("realtime hub lost Redis (%s); reconnecting", exc)
                        self.connected.clear()
                        self._broadcast_control(("hub", "down"))
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 2.0)
                except Exception:
                    log.exception("realtime hub listener error; restarting it")
                    self._stop.wait(backoff)
                finally:
                    if pubsub is not None:
                        try:
                            pubsub.close()
                        except Exception:  # noqa: BLE001 - best effort
                            log.debug("ignored", exc_info=True)

    def _connect(self) -> redis.client.PubSub:
        # No silent retries: a dropped connection must surface here, so that clients are told
        # and their output streams re-read from the database.
        client = redis.Redis.from_url(self.redis_url, socket_connect_timeout=2,
                                      health_check_interval=15,
                                      retry=Retry(NoBackoff(), 0))
        pubsub = client.pubsub()
        with self._lock:
            self._ops.clear()
            self._awaiting.clear()
            channels = dict(self._channels)
        names = [EVENTS_CHANNEL, self.wake_channel, *channels]
        for name in names:
            self._awaiting[name].append(channels.get(name))
        self._resync_pending = set(names)
        pubsub.subscribe(*names)
        return pubsub

    def _listen(self, pubsub: redis.client.PubSub) -> None:
        while not self._stop.is_set():
            self._apply_ops(pubsub)
            message = pubsub.get_message(timeout=1.0)
            if message is None:
                continue
            kind = message["type"]
            channel = _text(message["channel"])
            if kind == "message":
                self.messages += 1
                self._dispatch(channel, message["data"])
            elif kind == "subscribe":
                self._confirmed(channel)

    def _apply_ops(self, pubsub: redis.client.PubSub) -> None:
        while True:
            with self._lock:
                if not self._ops:
                    return
                op, channel, state = self._ops.popleft()
                if op == "sub":
                    self._awaiting[channel].append(state)
            if op == "sub":
                pubsub.subscribe(channel)
            else:
                pubsub.unsubscribe(channel)

    def _confirmed(self, channel: str) -> None:
        waiting = self._awaiting.get(channel)
        state = waiting.popleft() if waiting else None
        if state is not None:
            state.ready.set()
        pending = self._resync_pending
        if pending is not None and channel in pending:
            pending.discard(channel)
            if not pending:
                self._resync_pending = None
                first = not self._ever_connected
                self._ever_connected = True
                self.connected.set()
                if not first:
                    self.reconnects += 1
                    log.info("realtime hub reconnected to Redis")
                    self._broadcast_control(("hub", "up"))
                    for hook in self._on_reconnect:
                        try:
                            hook(self)
                        except Exception:
                            log.exception("reconnect hook failed")

    def _dispatch(self, channel: str, data: bytes) -> None:
        if channel == self.wake_channel:
            return
        try:
            message = json.loads(data)
        except ValueError:
            log.warning("realtime hub: message on %s is not JSON; dropped", channel)
            return
        if channel == EVENTS_CHANNEL:
            for sub in self._subscribers:
                try:
                    if sub.accepts(message):
                        sub.offer(("event", message))
                except Exception:
                    log.exception("subscriber filter failed")
            return
        state = self._channels.get(channel)
        if state is None or not state.subscribers:
            return
        batch = OutputBatch(channel, message)
        weight = max(len(batch.lines), 1)
        for sub in state.subscribers:
            if channel in sub.muted:
                continue
            direct = sub.try_direct
            if direct is not None and direct(batch):
                self.direct += 1
                continue
            self.queued += 1
            sub.offer(("output", batch), weight)

    def _broadcast_control(self, item: Item) -> None:
        for sub in self._subscribers:
            sub.put_control(item)

    # ------------------------------------------------------------ ticker thread

    def _ticker_main(self) -> None:
        with self.app.app_context():
            while not self._stop.wait(0.5):
                now = time.monotonic()
                for task in self._periodic:
                    if now < task["next"]:
                        continue
                    every = task["interval"]
                    task["next"] = now + float(every() if callable(every) else every)
                    try:
                        task["fn"](self)
                    except (redis.RedisError, OSError) as exc:
                        log.warning("realtime periodic task %s skipped: Redis unavailable (%s)",
                                    task["name"], exc)
                    except Exception:
                        log.exception("realtime periodic task %s failed", task["name"])
                    finally:
                        _remove_db_session()

    def watchdog(self, send_timeout: float) -> int:
        """Abort subscribers stuck in one send (or overflowed and silent) past `send_timeout`."""
        now = time.monotonic()
        aborted = 0
        for sub in self._subscribers:
            busy = sub.busy_since
            if busy is not None and now - busy > send_timeout and not sub.closed:
                log.warning("socket %s stuck in a send for %.1fs; disconnecting it", sub.id,
                            now - busy)
                sub.abort()
                aborted += 1
        return aborted


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _remove_db_session() -> None:
    from app.extensions import db

    try:
        db.session.remove()
    except Exception:  # noqa: BLE001 - best effort
        log.debug("ignored", exc_info=True)


def get_hub(app: Flask) -> Hub:
    """This process's hub for `app`, started on first use (and again after a fork)."""
    hub = app.extensions.get(_EXT_KEY)
    if hub is not None and hub.pid == os.getpid():
        return hub
    with _hub_lock:
        hub = app.extensions.get(_EXT_KEY)
        if hub is None or hub.pid != os.getpid():
            hub = Hub(app)
            for setup in app.extensions.get("realtime_hub_setup", ()):
                setup(hub)
            app.extensions[_EXT_KEY] = hub.start()
    return hub
