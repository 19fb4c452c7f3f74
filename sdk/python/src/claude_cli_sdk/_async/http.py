"""HTTP for the async client: the envelope unwrapped, errors typed, tokens refreshed, 429s
retried after the server's Retry-After."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from claude_cli_sdk import _base
from claude_cli_sdk._async import _compat
from claude_cli_sdk._records import NOT_GIVEN
from claude_cli_sdk.errors import APIConnectionError, AuthenticationError

TokenCallback = Callable[[str, "str | None"], None]


class AsyncTransport:
    """One base URL, one token pair, one pooled HTTP client.

    A 401 `AUTH_TOKEN_INVALID` on a request made with an access token is answered by a
    refresh (with the refresh token) and a retry, at most twice; the server refuses before
    doing anything, so a retried write is never done twice. A 429 is retried after
    `Retry-After` seconds (a quarter second at least, doubling), at most `max_retries` times
    and only while the wait is at most `max_retry_wait` seconds.
    """

    def __init__(self, base_url: str, *, token: str | None = None,
                 refresh_token: str | None = None, timeout: float = _base.DEFAULT_TIMEOUT,
                 max_retries: int = 3, max_retry_wait: float = 60.0,
                 http_client: httpx.AsyncClient | None = None,
                 on_tokens: TokenCallback | None = None,
                 credentials: tuple[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.access_token = token
        self.refresh_token = refresh_token
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.on_tokens = on_tokens
        self.timeout = timeout
        self._owns_http = http_client is None
        self._http = http_client or _compat.HttpClient(
            timeout=timeout, headers={"Accept": "application/json",
                                      "User-Agent": "claude-cli-sdk-python/1.0"})
        self._refresh_lock = _compat.Lock()

    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                      json: Any = NOT_GIVEN, auth: str | None = "access") -> Any:
        """The `data` of the envelope; `auth` is "access", "refresh" or None (public)."""
        url = f"{self.base_url}{path}"
        if auth == "access" and self.access_token is None and self.credentials:
            async with self._refresh_lock:
                if self.access_token is None:
                    await self.login(*self.credentials)
        retries = 0
        refreshes = 0  # two at most: a token may also expire while a 429 is waited out
        while True:
            token = self.refresh_token if auth == "refresh" else (
                self.access_token if auth else None)
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            kwargs: dict[str, Any] = {"params": params or None, "headers": headers}
            if json is not NOT_GIVEN:
                kwargs["json"] = json
            try:
                response = await self._http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                raise APIConnectionError(f"{method} {url}: {exc}") from exc
            if response.status_code == 429 and retries < self.max_retries:
                # Whole seconds round down to 0 near a window's end: never retry at once.
                wait = max(_base.retry_after(response), 0.25 * 2**retries)
                if wait <= self.max_retry_wait:
                    retries += 1
                    await _compat.sleep(wait)
                    continue
            if (response.status_code == 401 and auth == "access" and refreshes < 2
                    and (self.refresh_token or self.credentials)
                    and _base.error_code(response) == "AUTH_TOKEN_INVALID"):
                refreshes += 1
                await self.refresh_after(token)
                continue
            return _base.parse_response(response)

    async def refresh_after(self, stale: str | None) -> None:
        """Refresh the access token unless another caller already replaced `stale`; when the
        refresh token is refused too and credentials were given, log in again."""
        async with self._refresh_lock:
            if self.access_token != stale:
                return
            try:
                await self.refresh()
            except AuthenticationError:
                if not self.credentials:
                    raise
                await self.login(*self.credentials)

    async def login(self, username: str, password: str) -> dict[str, Any]:
        """POST /api/auth/login; keeps both tokens."""
        data = await self.request("POST", "/auth/login", auth=None,
                                  json={"username": username, "password": password})
        self.set_tokens(data["access_token"], data.get("refresh_token"))
        return data

    async def refresh(self) -> dict[str, Any]:
        """POST /api/auth/refresh with the refresh token; keeps and returns the new token."""
        if not self.refresh_token:
            raise AuthenticationError("No refresh token: log in first", code="AUTH_TOKEN_MISSING")
        data = await self.request("POST", "/auth/refresh", auth="refresh")
        self.set_tokens(data["access_token"], data.get("refresh_token") or self.refresh_token)
        return data

    def set_tokens(self, access: str | None, refresh: str | None = None) -> None:
        self.access_token = access
        if refresh is not None:
            self.refresh_token = refresh
        if self.on_tokens is not None and access is not None:
            self.on_tokens(access, self.refresh_token)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()
