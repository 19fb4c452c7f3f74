"""Output streams of one socket: subscribe, catch up from storage, forward live batches (the
listener's direct writes included) and end with `command_completed` (CONTRACT §6).

A mixin of `ClientConnection`; everything here runs on the socket's own thread with its write
lock held, except `_direct_output`, which the hub's listener calls and which only proceeds if it
gets that lock at once.
"""

from __future__ import annotations

from typing import Any

from app.extensions import db
from app.models.user import User
from app.realtime import protocol, streams
from app.realtime.subscriber import OutputBatch


class OutputStreams:
    def _open_stream(self, msg: protocol.Subscribe, user: User) -> None:
        owner_type = "command" if msg.command_id else "execution"
        owner_id = msg.command_id or msg.execution_id
        info = streams.check_access(owner_type, owner_id, user)
        key = f"{owner_type}:{owner_id}"
        ack = {"channel": "command_output", f"{owner_type}_id": str(owner_id),
               "after_seq": msg.after_seq or 0}
        if key in self.streams:
            self._send(protocol.message("subscribed", {
                **ack, "already": True, "last_seq": self.streams[key].last_seq}))
            return
        extra = {"task_id": info["task_id"]} if owner_type == "execution" else {}
        stream = streams.Stream(owner_type, str(owner_id), msg.after_seq or 0, extra)
        self.streams[key] = stream
        live = self.hub.subscribe_channel(self.sub, stream.channel)
        db.session.remove()  # read status and backlog after the subscription is live
        status = streams.status_of(owner_type, stream.owner_id)
        self._send(protocol.message("subscribed", {**ack, "status": status["status"],
                                                   "live": live}))
        self._sync(stream)
        if status["status"] in streams.FINAL:
            self._finish(stream, status)

    def _stored_messages(self, stream: streams.Stream, lines: list[dict[str, Any]]) -> list:
        return [protocol.output_line(stream.owner_type, stream.owner_id, line, stream.extra)
                for line in lines]

    def _on_output(self, batch: OutputBatch) -> None:
        found = self._new_in(batch)
        if found is None:
            return
        stream, first = found
        rendered = batch.rendered(stream.key, lambda b: [
            (line["seq"], protocol.output_line(b.owner_type, b.owner_id, line, stream.extra))
            for line in b.lines])
        if self.transport.plain and first == batch.lines[0]["seq"]:
            self._out.append(self._batch_frames(batch, stream))  # all new: the shared buffer
            stream.last_seq = batch.lines[-1]["seq"]
            return
        for seq, part in rendered:
            if seq > stream.last_seq:
                self._out.append(part)
                stream.last_seq = seq

    def _direct_output(self, batch: OutputBatch) -> bool:
        """Hub thread: write a live batch straight to the socket when nothing is queued or
        being written for this client and the batch continues the stream exactly. What does
        not fit in the socket buffer goes to the front of the queue, so order holds."""
        if self._closing or not self._write_lock.acquire(blocking=False):
            return False
        try:
            stream = self.streams.get(f"{batch.owner_type}:{batch.owner_id}")
            if (stream is None or self.sub.queued or self._out or not batch.lines
                    or batch.lines[0].get("seq") != stream.last_seq + 1
                    or not self.transport.plain):
                return False
            data = self._batch_frames(batch, stream)
            sent = self.transport.try_send(data)
            if sent < 0:
                return False
            stream.last_seq = batch.lines[-1]["seq"]
            if sent < len(data):
                self.sub.put_control(("raw", data[sent:]))
            return True
        finally:
            self._write_lock.release()

    def _batch_frames(self, batch: OutputBatch, stream: streams.Stream) -> bytes:
        """All of a batch's lines as frames in one buffer, built once for every socket."""
        return batch.rendered(f"{stream.key}#all", lambda b: b"".join(
            protocol.frame(protocol.output_line(b.owner_type, b.owner_id, line, stream.extra))
            for line in b.lines))

    def _finish(self, stream: streams.Stream, status: dict[str, Any]) -> None:
        self.streams.pop(stream.key, None)
        self.hub.unsubscribe_channel(self.sub, stream.channel)
        self._send(protocol.message("command_completed", {
            f"{stream.owner_type}_id": stream.owner_id, **stream.extra,
            "status": status.get("status"), "exit_code": status.get("exit_code"),
            "last_seq": stream.last_seq}))

    def _on_hub(self, state: str) -> None:
        if state == "down":
            self._send(protocol.notification(
                "warning", "Realtime Updates Interrupted",
                "Lost the connection to Redis; reconnecting. Output streams are re-read from "
                "storage when it is back.", event="realtime.down"))
            return
        for stream in list(self.streams.values()):
            self._sync(stream)
            status = streams.status_of(stream.owner_type, stream.owner_id)
            if status["status"] in streams.FINAL:
                self._finish(stream, status)
        self._send(protocol.notification(
            "info", "Realtime Updates Restored",
            "Reconnected. Output streams were caught up from storage; other events sent while "
            "disconnected may have been missed.", event="realtime.restored"))
