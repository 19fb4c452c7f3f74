"""The few things the asyncio flavour does differently from the sync one (written by hand in
both `_async/_compat.py` and `_sync/_compat.py`; everything else in `_sync/` is generated)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import httpx
from websockets.asyncio.client import ClientConnection, connect

from claude_cli_sdk._records import Page

T = TypeVar("T")
Lock = asyncio.Lock
HttpClient = httpx.AsyncClient
WebSocketConnection = ClientConnection


async def sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def ws_connect(url: str, open_timeout: float) -> ClientConnection:
    # compression off: output lines are small, and per-message deflate costs CPU on both ends
    return await connect(url, open_timeout=open_timeout, compression=None, max_size=2**24)


async def ws_recv(ws: ClientConnection, timeout: float | None) -> Any:
    """The next frame; TimeoutError when none comes within `timeout` seconds."""
    if timeout is None:
        return await ws.recv()
    return await asyncio.wait_for(ws.recv(), timeout)


async def pages(fetch: Callable[[int], Awaitable[Page[T]]], start: int = 1
                ) -> AsyncIterator[T]:
    """Every item of every page from `start` on, fetching a page only when it is reached."""
    number = start
    while True:
        page = await fetch(number)
        for item in page.items:
            yield item
        if not page.has_next or not page.items:
            return
        number += 1


async def offsets(fetch: Callable[[int], Awaitable[list[T]]], limit: int) -> AsyncIterator[T]:
    """Every item of an offset/limit list (command history)."""
    offset = 0
    while True:
        batch = await fetch(offset)
        for item in batch:
            yield item
        if len(batch) < limit:
            return
        offset += len(batch)
