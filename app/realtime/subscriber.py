"""What the hub (app.realtime.hub) hands events to: a `Subscriber` per socket, with its filter
and its own bounded queue, and the `OutputBatch` of lines it delivers.

The queue is the hub's promise that one slow client cannot stall the others: `offer` never
blocks; past `max_pending` the subscriber is flagged `overflowed` and gets nothing more, so its
owner can tell the client and disconnect it (never a silent skip).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)
Item = tuple[str, Any]


class OutputBatch:
    """One published batch of output lines; renderings are memoized for all its subscribers."""

    __slots__ = ("_rendered", "channel", "lines", "owner_id", "owner_type", "received_at")

    def __init__(self, channel: str, message: dict[str, Any]) -> None:
        self.channel = channel
        self.owner_type = message.get("owner_type")
        self.owner_id = message.get("owner_id")
        self.lines = sorted(message.get("lines") or [], key=lambda line: line.get("seq", 0))
        self.received_at = time.time()
        self._rendered: dict[str, Any] = {}

    def rendered(self, key: str, render: Callable[[OutputBatch], Any]) -> Any:
        """`render(self)` once per key for every subscriber (races only compute it twice)."""
        value = self._rendered.get(key)
        if value is None:
            value = self._rendered[key] = render(self)
        return value


class Subscriber:
    """One listener (a socket): a filter for events and its own bounded queue."""

    def __init__(self, accepts: Callable[[dict[str, Any]], bool] | None = None, *,
                 user_id: str | None = None, max_pending: int = 1000) -> None:
        self.id = uuid.uuid4().hex
        self.accepts = accepts or (lambda _event: False)
        self.user_id = user_id
        self.session_id: str | None = None
        self.topics: set[str] = set()
        # Output channels whose batches the owner does not need right now (it is reading the
        # same lines from storage); the hub skips them for this subscriber.
        self.muted: set[str] = set()
        self.max_pending = max_pending
        self.overflowed = False
        self.closed = False
        self.dropped = 0
        self.busy_since: float | None = None  # set by the owner around a blocking send
        self.on_abort: Callable[[], None] | None = None
        # Optional fast path for output: write a batch straight to the client if that can be
        # done at once and in order; False means "queue it" (see Hub._dispatch).
        self.try_direct: Callable[[OutputBatch], bool] | None = None
        self._items: deque[tuple[Item, int]] = deque()
        self._pending = 0
        self._cond = threading.Condition()

    def offer(self, item: Item, weight: int = 1) -> bool:
        """Hub side: queue `item` unless that would pass `max_pending`; never blocks."""
        with self._cond:
            if self.closed or self.overflowed:
                self.dropped += weight
                return False
            if self._pending + weight > self.max_pending and self._pending > 0:
                self.overflowed = True
                self.dropped += weight
                self._cond.notify()
                return False
            self._items.append((item, weight))
            self._pending += weight
            self._cond.notify()
            return True

    def put_control(self, item: Item) -> None:
        """Owner side (client messages, hub state): always queued, not counted in the bound."""
        with self._cond:
            self._items.append((item, 0))
            self._cond.notify()

    def wait(self, timeout: float | None) -> bool:
        """Wait (without taking anything) until something is queued; True if something is."""
        with self._cond:
            if not self._items and not self.overflowed and not self.closed:
                self._cond.wait(timeout)
            return bool(self._items)

    @property
    def queued(self) -> int:
        return len(self._items)

    def get_batch(self, timeout: float | None, limit: int = 500) -> list[Item]:
        """Everything queued (up to `limit`), waiting up to `timeout` for the first item."""
        with self._cond:
            if not self._items and not self.overflowed:
                self._cond.wait(timeout)
            batch: list[Item] = []
            while self._items and len(batch) < limit:
                item, weight = self._items.popleft()
                self._pending -= weight
                batch.append(item)
            return batch

    @property
    def pending(self) -> int:
        return self._pending

    def abort(self) -> None:
        """Cut the client off (a send stuck for too long); the owner's loop then ends."""
        self.closed = True
        if self.on_abort:
            try:
                self.on_abort()
            except Exception:  # noqa: BLE001 - aborting is best effort by definition
                log.debug("abort of subscriber %s failed", self.id, exc_info=True)
        with self._cond:
            self._cond.notify()
