"""Output streams of one pages socket: subscribe, catch up from storage, append live lines.

A mixin of `PageConnection` (app.realtime.pages_socket); it runs on the socket's own thread.
The join is the JSON socket's (app.realtime.streams): subscribe to the run's Redis channel and
wait for Redis to confirm, read stored lines after the last seq shown, then forward live ones,
dropping by seq whatever was already sent, so every line reaches the page once, in order. A
live batch that continues the stream exactly is rendered once for every socket showing it.
"""

from __future__ import annotations

from typing import Any

from app.extensions import db
from app.realtime import page_fragments as frag
from app.realtime import streams
from app.realtime.subscriber import OutputBatch


class PageStreams:
    def _open_stream(self, key: str) -> None:
        owner_type, owner_id = key.split(":", 1)
        stream = streams.Stream(owner_type, owner_id, self.watch.after_seq)
        self.streams[key] = stream
        self.hub.subscribe_channel(self.sub, stream.channel)
        db.session.remove()  # read the backlog after the subscription is live
        self._sync(stream)
        self._finish_if_over(stream)

    def _finish_if_over(self, stream: streams.Stream) -> None:
        status = streams.status_of(stream.owner_type, stream.owner_id)
        if status["status"] in streams.FINAL:
            self._catch_up(stream)
            self._finish(stream)

    def _stored_messages(self, stream: streams.Stream, lines: list[dict[str, Any]]) -> list:
        return [frag.append(stream.owner_id, lines)]

    def _on_output(self, batch: OutputBatch) -> None:
        found = self._new_in(batch)
        if found is None:
            return
        stream, first = found
        if batch.lines[0]["seq"] == first == stream.last_seq + 1:
            html = batch.rendered("pages:append", lambda b: frag.append(b.owner_id, b.lines))
        else:
            html = frag.append(stream.owner_id,
                               [ln for ln in batch.lines if ln["seq"] > stream.last_seq])
        stream.last_seq = batch.lines[-1]["seq"]
        self._send(html)

    def _finish(self, stream: streams.Stream) -> None:
        self.streams.pop(stream.key, None)
        self.hub.unsubscribe_channel(self.sub, stream.channel)
