"""Writing to one simple_websocket connection: many frames per system call, and a way out.

`send` encodes every queued message into frames and writes them with one `sendall`, instead of
one system call per message (simple_websocket's `send`): with hundreds of clients and batched
output that is most of the per-message cost. While a write is in progress `busy_since` is set,
so the hub's watchdog can `abort` a socket whose client stopped reading (the write would block
forever otherwise).
"""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

from simple_websocket import ConnectionClosed
from wsproto.events import TextMessage
from wsproto.utilities import LocalProtocolError

from app.realtime.hub import Subscriber

log = logging.getLogger(__name__)
POLICY_VIOLATION = 1008
NORMAL = 1000


class Transport:
    def __init__(self, ws: Any, sub: Subscriber) -> None:
        self.ws = ws
        self.sub = sub
        self.sent = 0

    def send(self, texts: list[str]) -> None:
        """Send `texts` as text frames, in order; ConnectionClosed when the client is gone."""
        if not texts:
            return
        if not self.ws.connected or self.sub.closed:
            raise ConnectionClosed()
        proto = getattr(self.ws, "ws", None)
        sock = getattr(self.ws, "sock", None)
        self.sub.busy_since = time.monotonic()
        try:
            if proto is None or sock is None:  # not simple_websocket's Server: the plain way
                for text in texts:
                    self.ws.send(text)
            else:
                sock.sendall(b"".join(proto.send(TextMessage(data=t)) for t in texts))
        except (OSError, LocalProtocolError) as exc:
            self.ws.connected = False
            raise ConnectionClosed() from exc
        finally:
            self.sub.busy_since = None
        self.sent += len(texts)

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
