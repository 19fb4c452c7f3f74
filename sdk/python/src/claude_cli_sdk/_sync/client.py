# GENERATED from _async/client.py by scripts/unasync.py: edit that file, then re-run.
# ruff: noqa
"""`ClaudeCliClient`: the whole API as resources, over one pooled HTTP client."""

from __future__ import annotations

from typing import Any

import httpx

from claude_cli_sdk import _base
from claude_cli_sdk._sync.admin import (
    Auth,
    Health,
    Queues,
    System,
    Users,
    Webhooks,
)
from claude_cli_sdk._sync.commands import Commands
from claude_cli_sdk._sync.http import Transport, TokenCallback
from claude_cli_sdk._sync.projects import Projects
from claude_cli_sdk._sync.realtime import OutputStream, WebSocket
from claude_cli_sdk._sync.sessions import Sessions
from claude_cli_sdk._sync.tasks import Executions, Tasks
from claude_cli_sdk.models import LoginData


class WebsocketFactory:
    """`client.websocket.connect(session_id)`: an authenticated socket on a session."""

    def __init__(self, client: ClaudeCliClient) -> None:
        self._client = client

    def connect(self, session_id: Any, *, open_timeout: float = 15.0) -> WebSocket:
        return WebSocket(self._client, session_id, open_timeout)


class ClaudeCliClient:
    """The Claude CLI Web UI API.

    `base_url` is the API root (`http://localhost:8000/api`). Give a `token` (and the
    `refresh_token` to have it renewed when it expires), or `username` and `password` to log
    in on first use (and again whenever the refresh token is refused), or call `login()`.
    `max_retries` 429s are retried after the server's Retry-After when that is at most
    `max_retry_wait` seconds. `on_tokens(access, refresh)` is
    called whenever the client gets new tokens (to keep them across runs).
    """

    def __init__(self, base_url: str = "http://localhost:8000/api", token: str | None = None,
                 *, refresh_token: str | None = None, username: str | None = None,
                 password: str | None = None, timeout: float = _base.DEFAULT_TIMEOUT,
                 max_retries: int = 3, max_retry_wait: float = 60.0, ws_url: str | None = None,
                 http_client: httpx.Client | None = None,
                 on_tokens: TokenCallback | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.ws_url = ws_url
        self._transport = Transport(
            self.base_url, token=token, refresh_token=refresh_token, timeout=timeout,
            max_retries=max_retries, max_retry_wait=max_retry_wait, http_client=http_client,
            on_tokens=on_tokens,
            credentials=(username, password) if username and password else None)
        self.auth = Auth(self._transport)
        self.health = Health(self._transport)
        self.system = System(self._transport)
        self.tasks = Tasks(self._transport)
        self.executions = Executions(self._transport)
        self.projects = Projects(self._transport)
        self.commands = Commands(self._transport)
        self.sessions = Sessions(self._transport)
        self.queues = Queues(self._transport)
        self.users = Users(self._transport)
        self.webhooks = Webhooks(self._transport)
        self.websocket = WebsocketFactory(self)

    @property
    def access_token(self) -> str | None:
        return self._transport.access_token

    @property
    def refresh_token(self) -> str | None:
        return self._transport.refresh_token

    def login(self, username: str | None = None,
                    password: str | None = None) -> LoginData:
        """Log in (with the constructor's credentials when none are given)."""
        if username is None and self._transport.credentials:
            username, password = self._transport.credentials
        if username is None or password is None:
            raise ValueError("login() needs a username and a password")
        return self.auth.login(username, password)

    def stream(self, execution_id: Any = None, *, command_id: Any = None, after_seq: int = 0,
               session_id: Any = None, max_reconnects: int = 8) -> OutputStream:
        """Follow a task run's (or with `command_id`, a command's) output over the socket:
        every line after `after_seq` exactly once, in order, resuming by itself after a
        dropped connection, until the run ends. Without `session_id` a session is made for the
        stream and deleted after it."""
        if (execution_id is None) == (command_id is None):
            raise ValueError("give execution_id or command_id")
        owner_type = "execution" if execution_id is not None else "command"
        return OutputStream(self, owner_type, execution_id or command_id,
                                 after_seq=after_seq, session_id=session_id,
                                 max_reconnects=max_reconnects)

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> ClaudeCliClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
