"""The few things the sync flavour does differently from the asyncio one (written by hand in
both `_async/_compat.py` and `_sync/_compat.py`; everything else in `_sync/` is generated)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
from websockets.sync.client import ClientConnection, connect

from claude_cli_sdk._records import Page

T = TypeVar("T")
Lock = threading.Lock
HttpClient = httpx.Client
WebSocketConnection = ClientConnection


def sleep(seconds: float) -> None:
    time.sleep(seconds)


def ws_connect(url: str, open_timeout: float) -> ClientConnection:
    # compression off: output lines are small, and per-message deflate costs CPU on both ends
    conn = connect(url, open_timeout=open_timeout, compression=None, max_size=2**24)
    # The caller owns and closes it. __enter__ returns the connection itself in every
    # websockets release >= 13, and tells 17.1+ that it is not the legacy, unmanaged use.
    return conn.__enter__()


def ws_recv(ws: ClientConnection, timeout: float | None) -> Any:
    """The next frame; TimeoutError when none comes within `timeout` seconds."""
    return ws.recv(timeout=timeout)


def pages(fetch: Callable[[int], Page[T]], start: int = 1) -> Iterator[T]:
    """Every item of every page from `start` on, fetching a page only when it is reached."""
    number = start
    while True:
        page = fetch(number)
        yield from page.items
        if not page.has_next or not page.items:
            return
        number += 1


def offsets(fetch: Callable[[int], list[T]], limit: int) -> Iterator[T]:
    """Every item of an offset/limit list (command history)."""
    offset = 0
    while True:
        batch = fetch(offset)
        yield from batch
        if len(batch) < limit:
            return
        offset += len(batch)
