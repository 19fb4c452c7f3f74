"""What both socket kinds (the JSON protocol of `/ws/{session_id}` and the pages' `/ws/pages`)
do the same way, so that each only says what it sends, not how."""

from __future__ import annotations

import logging
from typing import Any

from app.extensions import db
from app.realtime import streams

log = logging.getLogger(__name__)


class SocketCore:
    """Outgoing messages gathered while one item is handled and sent together; database steps
    that cost one update, not the connection, when they fail; the gap-free join of stored output
    with the live stream. Subclasses set `close_signal` (the exception that must end the socket)
    and `label` (for logs), and define `_stored_messages(stream, lines)` and `_send(*messages)`."""

    close_signal: type[BaseException] = Exception
    label = "socket"
    _out: list[Any]
    transport: Any
    sub: Any
    streams: dict[str, streams.Stream]

    def _flush(self) -> None:
        if self._out:
            out, self._out = self._out, []
            self.transport.send(out)

    def _flush_quietly(self) -> None:
        try:
            self._flush()
        except Exception:  # noqa: BLE001 - the client may already be gone
            log.debug("ignored", exc_info=True)

    def _guard(self, fn, value) -> None:
        """Run a database-touching step; a failure is logged and costs one update."""
        try:
            fn(value)
        except self.close_signal:
            raise
        except Exception:
            log.exception("%s %s: %s failed", self.label, self.sub.id, fn.__name__)
        finally:
            db.session.remove()

    def _sync(self, stream: streams.Stream) -> None:
        """Catch up from storage with the live batches muted (they would only repeat what the
        read finds, and could overflow the queue of a client that is not slow at all), then
        unmute and read once more: a line published while muted was stored before that."""
        self.sub.muted.add(stream.channel)
        try:
            self._catch_up(stream)
        finally:
            self.sub.muted.discard(stream.channel)
        self._catch_up(stream)

    def _catch_up(self, stream: streams.Stream, before_seq: int | None = None) -> None:
        """Send stored lines after `stream.last_seq` (up to `before_seq`), a page at a time."""
        for page in streams.stored_lines(stream, before_seq):
            self._send(*self._stored_messages(stream, page))
            stream.last_seq = page[-1]["seq"]
            self._flush()
        db.session.remove()

    def _stored_messages(self, stream: streams.Stream, lines: list[dict[str, Any]]) -> list:
        """A page of stored lines as this socket kind sends them."""
        raise NotImplementedError

    def _new_in(self, batch) -> tuple[streams.Stream, int] | None:
        """(stream, first seq not yet shown) for a live batch of a stream this socket follows,
        with any gap before it (published out of order, or lost while Redis was away) filled
        from storage first; None when the batch has nothing new for this socket."""
        stream = self.streams.get(f"{batch.owner_type}:{batch.owner_id}")
        if stream is None or not batch.lines:
            return None
        first = next((ln["seq"] for ln in batch.lines if ln["seq"] > stream.last_seq), None)
        if first is None:
            return None
        if first > stream.last_seq + 1:
            self._catch_up(stream, before_seq=first)
        return stream, first
