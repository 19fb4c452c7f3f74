# GENERATED from _async/realtime.py by scripts/unasync.py: edit that file, then re-run.
# ruff: noqa
"""The `/ws/{session_id}` socket: `client.websocket.connect(session_id)` and
`client.stream(execution_id)` (api-reference "WebSocket", CONTRACT §6).

The protocol: connect, send `authenticate` with the access token (the server answers
`authenticated`, or an `error` and closes), then `subscribe`. Output streams carry `seq` per
line; subscribing with `after_seq` gets every stored line after it and then the live ones, each
once and in order, up to `command_completed`. `stream()` builds resuming on that: it remembers the
last `seq` it yielded and, when the connection drops (or the server says the client fell
behind), reconnects and subscribes again after it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from claude_cli_sdk import _base
from claude_cli_sdk._sync import _compat
from claude_cli_sdk._records import OutputLine, Record, WsMessage
from claude_cli_sdk.errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    ClaudeCliError,
    StreamDisconnectedError,
    make_error,
)

if TYPE_CHECKING:
    from claude_cli_sdk._sync.client import ClaudeCliClient

AUTH_TIMEOUT = 15.0
_DROPPED = (ConnectionClosed, OSError, TimeoutError, InvalidHandshake, APIConnectionError)


def ws_error(data: Any) -> APIError:
    """A socket `error` message as the typed error its code's REST twin would raise."""
    data = data.to_dict() if isinstance(data, Record) else dict(data or {})
    return make_error(None, data)


class WebSocket:
    """One authenticated socket on a session; use as `with client.websocket.connect(id)
    as ws:` (or `ws.open()` / `ws.close()`)."""

    def __init__(self, client: ClaudeCliClient, session_id: Any,
                 open_timeout: float = AUTH_TIMEOUT) -> None:
        self._client = client
        self.session_id = str(session_id)
        self.url = _base.websocket_url(client.base_url, self.session_id, client.ws_url)
        self.open_timeout = open_timeout
        self.authenticated: WsMessage | None = None
        self._ws: _compat.WebSocketConnection | None = None
        self._early: list[WsMessage] = []

    def open(self) -> WebSocket:
        """Connect and authenticate (refreshing the access token once if it has expired)."""
        transport = self._client._transport
        for attempt in range(2):
            token = transport.access_token
            if not token:
                raise AuthenticationError("Log in first: the socket needs an access token",
                                          code="AUTH_TOKEN_MISSING")
            try:
                self._ws = _compat.ws_connect(self.url, self.open_timeout)
                self.send({"type": "authenticate", "token": token})
                while True:
                    message = self.recv(self.open_timeout)
                    if message.type in ("authenticated", "error"):
                        break
                    self._early.append(message)
            except InvalidURI as exc:
                raise ClaudeCliError(f"bad websocket URL {self.url}: {exc}") from exc
            except _DROPPED as exc:
                self.close()
                raise APIConnectionError(f"websocket {self.url}: {exc!r}") from exc
            if message.type == "authenticated":
                self.authenticated = message
                return self
            self.close()
            error = ws_error(message.data)
            if (attempt == 0 and error.code == "AUTH_TOKEN_INVALID"
                    and transport.refresh_token):
                transport.refresh_after(token)
                continue
            raise error
        raise AssertionError("unreachable")  # pragma: no cover

    def __enter__(self) -> WebSocket:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            try:
                ws.close()
            except _DROPPED:
                pass

    @property
    def close_code(self) -> int | None:
        """How the server closed the socket (None while open)."""
        return self._ws.close_code if self._ws is not None else None

    def send(self, message: dict[str, Any]) -> None:
        if self._ws is None:
            raise APIConnectionError("the websocket is not open")
        self._ws.send(json.dumps(_base.jsonable(message)))

    def subscribe(self, channel: str, **target: Any) -> None:
        """`subscribe("task_updates", project_id=...)`; for output: `subscribe(
        "command_output", execution_id=... | command_id=..., after_seq=N)`."""
        self.send({"type": "subscribe", "channel": channel, **_target(target)})

    def unsubscribe(self, channel: str, **target: Any) -> None:
        self.send({"type": "unsubscribe", "channel": channel, **_target(target)})

    def execute_task(self, task_id: Any, priority: str = "normal",
                           options: dict[str, Any] | None = None) -> None:
        message: dict[str, Any] = {"type": "execute_task", "task_id": str(task_id),
                                   "priority": priority}
        if options:
            message["options"] = options
        self.send(message)

    def get_metrics(self, metrics: list[str] | None = None) -> None:
        self.send({"type": "get_metrics", **({"metrics": metrics} if metrics else {})})

    def ping(self, timestamp: Any = None) -> None:
        self.send({"type": "ping", **({"timestamp": timestamp} if timestamp else {})})

    def recv(self, timeout: float | None = None) -> WsMessage:
        """The next message; TimeoutError after `timeout` seconds; ConnectionClosed at the end."""
        if self._early:
            return self._early.pop(0)
        if self._ws is None:
            raise APIConnectionError("the websocket is not open")
        text = _compat.ws_recv(self._ws, timeout)
        return WsMessage(json.loads(text))

    def listen(self) -> Iterator[WsMessage]:
        """Every message until the socket closes (an `error` that closes it comes first)."""
        while True:
            try:
                message = self.recv()
            except ConnectionClosed:
                return
            yield message


def _target(target: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if isinstance(v, (int, float)) else str(v)) for k, v in target.items()
            if v is not None}


class OutputStream:
    """`for line in client.stream(execution_id)`: every output line once, in order,
    until the run ends; `completion` then holds `status`, `exit_code` and `last_seq`."""

    def __init__(self, client: ClaudeCliClient, owner_type: str, owner_id: Any, *,
                 after_seq: int = 0, session_id: Any = None, max_reconnects: int = 8,
                 reconnect_delay: float = 0.2) -> None:
        self._client = client
        self.owner_type = owner_type
        self.owner_id = str(owner_id)
        self.last_seq = after_seq
        self.session_id = str(session_id) if session_id else None
        self.max_reconnects = max_reconnects
        self.reconnect_delay = reconnect_delay
        self.completion: Record | None = None
        self.reconnects = 0
        self._lines = self._generate()

    def __iter__(self) -> Iterator[OutputLine]:
        return self._lines

    def __enter__(self) -> OutputStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop early (the session the stream made for itself is deleted)."""
        self._lines.close()

    def _ours(self, data: Any) -> bool:
        return str(data.get(f"{self.owner_type}_id")) == self.owner_id

    def _generate(self) -> Iterator[OutputLine]:
        created = None
        if self.session_id is None:
            created = self._client.sessions.create()
            self.session_id = str(created.session_id)
        failures = 0
        try:
            while True:
                ws = WebSocket(self._client, self.session_id)
                try:
                    ws.open()
                    ws.subscribe("command_output", after_seq=self.last_seq,
                                       **{f"{self.owner_type}_id": self.owner_id})
                    for message in ws.listen():
                        data = message.get("data") or Record()
                        if message.type == "command_output" and self._ours(data):
                            if data.seq > self.last_seq:
                                self.last_seq = data.seq
                                failures = 0
                                yield OutputLine(data)
                        elif message.type == "command_completed" and self._ours(data):
                            self.completion = data
                            return
                        elif message.type == "error":
                            self._on_error(data)
                            break
                except _DROPPED:
                    pass  # dropped: resume below after the last line yielded
                finally:
                    ws.close()
                failures += 1
                self.reconnects += 1
                if failures > self.max_reconnects:
                    raise StreamDisconnectedError(
                        f"output stream of {self.owner_type} {self.owner_id} lost after "
                        f"{failures - 1} reconnects; resume with after_seq={self.last_seq}",
                        self.last_seq)
                _compat.sleep(min(self.reconnect_delay * 2 ** (failures - 1), 5.0))
        finally:
            if created is not None:
                try:
                    self._client.sessions.delete(created.session_id)
                except ClaudeCliError:
                    pass

    def _on_error(self, data: Record) -> None:
        """Fell behind, or the token expired on the open socket: resume. Anything else (no
        such run, no access) is the caller's to see."""
        error = ws_error(data)
        if error.code == "WEBSOCKET_CONNECTION_FAILED":
            return
        if error.code == "AUTH_TOKEN_INVALID" and self._client._transport.refresh_token:
            self._client._transport.refresh_after(self._client._transport.access_token)
            return
        raise error
