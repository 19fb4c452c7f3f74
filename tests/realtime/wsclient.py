"""A small socket client for tests: JSON in and out, waits with deadlines, never sleeps."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import simple_websocket


class WS:
    def __init__(self, base_url: str, session_id: str) -> None:
        url = base_url.replace("http://", "ws://") + f"/ws/{session_id}"
        self.ws = simple_websocket.Client.connect(url)
        self.seen: list[dict[str, Any]] = []

    def send(self, **message: Any) -> None:
        self.ws.send(json.dumps(message))

    def send_raw(self, text: str) -> None:
        self.ws.send(text)

    def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        text = self.ws.receive(timeout=timeout)
        if text is None:
            raise AssertionError(f"no message within {timeout}s (seen: {self.seen[-5:]})")
        message = json.loads(text)
        self.seen.append(message)
        return message

    def expect(self, kind: str, timeout: float = 5.0,
               where: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
        """The next message of type `kind` (matching `where`), skipping others."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {kind} message within {timeout}s "
                                     f"(last seen: {self.seen[-5:]})")
            message = self.recv(left)
            if message.get("type") == kind and (where is None or where(message)):
                return message

    def closed(self, timeout: float = 5.0) -> bool:
        """True once the server closed the connection (messages before that are kept)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                text = self.ws.receive(timeout=0.1)
            except simple_websocket.ConnectionClosed:
                return True
            if text is not None:
                self.seen.append(json.loads(text))
        return False

    def quiet(self, seconds: float) -> list[dict[str, Any]]:
        """Whatever arrives within `seconds` (to show that nothing else does)."""
        got = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            text = self.ws.receive(timeout=left)
            if text is not None:
                got.append(json.loads(text))
        return got

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass
