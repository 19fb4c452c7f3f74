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
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from claude_cli_sdk import _base
from claude_cli_sdk._async import _compat
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
    from claude_cli_sdk._async.client import AsyncClaudeCliClient

AUTH_TIMEOUT = 15.0
_DROPPED = (ConnectionClosed, OSError, TimeoutError, InvalidHandshake, APIConnectionError)


def ws_error(data: Any) -> APIError:
    """A socket `error` message as the typed error its code's REST twin would raise."""
    data = data.to_dict() if isinstance(data, Record) else dict(data or {})
    return make_error(None, data)


class AsyncWebSocket:
    """One authenticated socket on a session; use as `async with client.websocket.connect(id)
    as ws:` (or `await ws.open()` / `await ws.close()`)."""

    def __init__(self, client: AsyncClaudeCliClient, session_id: Any,
                 open_timeout: float = AUTH_TIMEOUT) -> None:
        self._client = client
        self.session_id = str(session_id)
        self.url = _base.websocket_url(client.base_url, self.session_id, client.ws_url)
        self.open_timeout = open_timeout
        self.authenticated: WsMessage | None = None
        self._ws: _compat.WebSocketConnection | None = None
        self._early: list[WsMessage] = []

    async def open(self) -> AsyncWebSocket:
        """Connect and authenticate (refreshing the access token once if it has expired)."""
        transport = self._client._transport
        for attempt in range(2):
            token = transport.access_token
            if not token:
                raise AuthenticationError("Log in first: the socket needs an access token",
                                          code="AUTH_TOKEN_MISSING")
            try:
                self._ws = await _compat.ws_connect(self.url, self.open_timeout)
                await self.send({"type": "authenticate", "token": token})
                while True:
                    message = await self.recv(self.open_timeout)
                    if message.type in ("authenticated", "error"):
                        break
                    self._early.append(message)
            except InvalidURI as exc:
                raise ClaudeCliError(f"bad websocket URL {self.url}: {exc}") from exc
            except _DROPPED as exc:
                await self.close()
                raise APIConnectionError(f"websocket {self.url}: {exc!r}") from exc
            if message.type == "authenticated":
                self.authenticated = message
                return self
            await self.close()
            error = ws_error(message.data)
            if (attempt == 0 and error.code == "AUTH_TOKEN_INVALID"
                    and transport.refresh_token):
                await transport.refresh_after(token)
                continue
            raise error
        raise AssertionError("unreachable")  # pragma: no cover

    async def __aenter__(self) -> AsyncWebSocket:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            try:
                await ws.close()
            except _DROPPED:
                pass

    @property
    def close_code(self) -> int | None:
        """How the server closed the socket (None while open)."""
        return self._ws.close_code if self._ws is not None else None

    async def send(self, message: dict[str, Any]) -> None:
        if self._ws is None:
            raise APIConnectionError("the websocket is not open")
        await self._ws.send(json.dumps(_base.jsonable(message)))

    async def subscribe(self, channel: str, **target: Any) -> None:
        """`subscribe("task_updates", project_id=...)`; for output: `subscribe(
        "command_output", execution_id=... | command_id=..., after_seq=N)`."""
        await self.send({"type": "subscribe", "channel": channel, **_target(target)})

    async def unsubscribe(self, channel: str, **target: Any) -> None:
        await self.send({"type": "unsubscribe", "channel": channel, **_target(target)})

    async def execute_task(self, task_id: Any, priority: str = "normal",
                           options: dict[str, Any] | None = None) -> None:
        message: dict[str, Any] = {"type": "execute_task", "task_id": str(task_id),
                                   "priority": priority}
        if options:
            message["options"] = options
        await self.send(message)

    async def get_metrics(self, metrics: list[str] | None = None) -> None:
        await self.send({"type": "get_metrics", **({"metrics": metrics} if metrics else {})})

    async def ping(self, timestamp: Any = None) -> None:
        await self.send({"type": "ping", **({"timestamp": timestamp} if timestamp else {})})

    async def recv(self, timeout: float | None = None) -> WsMessage:
        """The next message; TimeoutError after `timeout` seconds; ConnectionClosed at the end."""
        if self._early:
            return self._early.pop(0)
        if self._ws is None:
            raise APIConnectionError("the websocket is not open")
        text = await _compat.ws_recv(self._ws, timeout)
        return WsMessage(json.loads(text))

    async def listen(self) -> AsyncIterator[WsMessage]:
        """Every message until the socket closes (an `error` that closes it comes first)."""
        while True:
            try:
                message = await self.recv()
            except ConnectionClosed:
                return
            yield message


def _target(target: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if isinstance(v, (int, float)) else str(v)) for k, v in target.items()
            if v is not None}


class AsyncOutputStream:
    """`async for line in client.stream(execution_id)`: every output line once, in order,
    until the run ends; `completion` then holds `status`, `exit_code` and `last_seq`."""

    def __init__(self, client: AsyncClaudeCliClient, owner_type: str, owner_id: Any, *,
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

    def __aiter__(self) -> AsyncIterator[OutputLine]:
        return self._lines

    async def __aenter__(self) -> AsyncOutputStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop early (the session the stream made for itself is deleted)."""
        await self._lines.aclose()

    def _ours(self, data: Any) -> bool:
        return str(data.get(f"{self.owner_type}_id")) == self.owner_id

    async def _generate(self) -> AsyncIterator[OutputLine]:
        created = None
        if self.session_id is None:
            created = await self._client.sessions.create()
            self.session_id = str(created.session_id)
        failures = 0
        try:
            while True:
                ws = AsyncWebSocket(self._client, self.session_id)
                try:
                    await ws.open()
                    await ws.subscribe("command_output", after_seq=self.last_seq,
                                       **{f"{self.owner_type}_id": self.owner_id})
                    async for message in ws.listen():
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
                            await self._on_error(data)
                            break
                except _DROPPED:
                    pass  # dropped: resume below after the last line yielded
                finally:
                    await ws.close()
                failures += 1
                self.reconnects += 1
                if failures > self.max_reconnects:
                    raise StreamDisconnectedError(
                        f"output stream of {self.owner_type} {self.owner_id} lost after "
                        f"{failures - 1} reconnects; resume with after_seq={self.last_seq}",
                        self.last_seq)
                await _compat.sleep(min(self.reconnect_delay * 2 ** (failures - 1), 5.0))
        finally:
            if created is not None:
                try:
                    await self._client.sessions.delete(created.session_id)
                except ClaudeCliError:
                    pass

    async def _on_error(self, data: Record) -> None:
        """Fell behind, or the token expired on the open socket: resume. Anything else (no
        such run, no access) is the caller's to see."""
        error = ws_error(data)
        if error.code == "WEBSOCKET_CONNECTION_FAILED":
            return
        if error.code == "AUTH_TOKEN_INVALID" and self._client._transport.refresh_token:
            await self._client._transport.refresh_after(self._client._transport.access_token)
            return
        raise error
