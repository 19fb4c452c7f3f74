"""Writing to one simple_websocket connection: many frames per system call, and a way out.

`send` encodes every queued message into frames and writes them with one `sendall`, instead of
one system call per message (simple_websocket's `send`): with hundreds of clients and batched
output that is most of the per-message cost. When the client negotiated no extension (no
permessage-deflate), a frame is the same bytes for every client, so callers may pass frames
already built once for all of them (`plain` says whether they may).

While a write is in progress `busy_since` is set, so the hub's watchdog can `abort` a socket
whose client stopped reading (the write would block forever otherwise).
"""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

from simple_websocket import ConnectionClosed
from wsproto.events import Ping, TextMessage
from wsproto.utilities import LocalProtocolError

from app.realtime.protocol import frame
from app.realtime.subscriber import Subscriber

log = logging.getLogger(__name__)
POLICY_VIOLATION = 1008
NORMAL = 1000


class Transport:
    def __init__(self, ws: Any, sub: Subscriber) -> None:
        self.ws = ws
        self.sub = sub
        self.sent = 0

    @property
    def plain(self) -> bool:
        """True when frames need no per-connection encoding (no extension negotiated)."""
        try:
            return not self.ws.ws.connection._proto.extensions and self.ws.sock is not None
        except AttributeError:
            return False

    def send(self, parts: list[str | bytes]) -> None:
        """Send texts (and, when `plain`, ready frames) in order; ConnectionClosed when the
        client is gone."""
        if not parts:
            return
        if not self.ws.connected or self.sub.closed:
            raise ConnectionClosed()
        proto = getattr(self.ws, "ws", None)
        sock = getattr(self.ws, "sock", None)
        self.sub.busy_since = time.monotonic()
        try:
            if proto is None or sock is None:  # not simple_websocket's Server: the plain way
                for text in parts:
                    self.ws.send(text)
            elif self.plain:
                sock.sendall(b"".join(p if isinstance(p, bytes) else frame(p) for p in parts))
            else:
                sock.sendall(b"".join(proto.send(TextMessage(data=t)) for t in parts))
        except (OSError, LocalProtocolError) as exc:
            self.ws.connected = False
            raise ConnectionClosed() from exc
        finally:
            self.sub.busy_since = None
        self.sent += len(parts)

    def try_send(self, data: bytes) -> int:
        """Write what fits right now without blocking: bytes written, or -1 if the socket is
        gone. Only for `plain` connections, by whoever holds the connection's write lock."""
        if not self.ws.connected or self.sub.closed:
            return -1
        try:
            sent = self.ws.sock.send(data, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return 0
        except OSError:
            return -1
        self.sent += 1
        return sent

    def ping(self) -> bool:
        """Send a ping; False if the previous one was never answered (a dead peer)."""
        answered = getattr(self.ws, "pong_received", True)
        self.ws.pong_received = False
        proto = getattr(self.ws, "ws", None)
        if proto is None:
            return True
        self.sub.busy_since = time.monotonic()
        try:
            self.ws.sock.sendall(proto.send(Ping()))
        except (OSError, LocalProtocolError) as exc:
            self.ws.connected = False
            raise ConnectionClosed() from exc
        finally:
            self.sub.busy_since = None
        return answered

    def close(self, code: int = NORMAL, reason: str | None = None) -> None:
        try:
            if self.ws.connected:
                self.ws.close(reason=code, message=reason)
        except Exception:  # noqa: BLE001 - closing a dead socket is not an error
            log.debug("ignored", exc_info=True)

    def abort(self) -> None:
        """Shut the socket down under a blocked send (called from another thread)."""
        self.ws.connected = False
        sock = getattr(self.ws, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
