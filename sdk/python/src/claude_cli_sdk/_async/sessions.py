"""`client.sessions` (api-reference "Sessions"); a socket attaches to one session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any, Literal

from claude_cli_sdk._async import _compat
from claude_cli_sdk._async.http import AsyncTransport
from claude_cli_sdk._base import body, operation, path_id, query
from claude_cli_sdk._records import NOT_GIVEN, Page, Record
from claude_cli_sdk.models import Deleted, SessionData, SessionDetail


class AsyncSessions:
    """Work sessions: settings, history, restore; `/ws/{session_id}` needs one."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    @operation("POST", "/api/sessions/")
    async def create(self, *, project_id: Any = NOT_GIVEN,
                     settings: Mapping[str, Any] | None = NOT_GIVEN) -> SessionData:
        """A new session (expires after a while unused; open sockets keep it alive)."""
        return SessionData(await self._t.request("POST", "/sessions/", json=body(
            project_id=project_id, settings=settings)))

    @operation("GET", "/api/sessions/")
    async def list(self, *, status: Literal["active", "expired", "closed"] | None = None,
                   project_id: Any = None, page: int | None = None, page_size: int | None = None,
                   order: Literal["asc", "desc"] | None = None) -> Page[Record]:
        """One page of your sessions (the server names the list `sessions`; `items` too)."""
        data = await self._t.request("GET", "/sessions/", params=query(
            status=status, project_id=project_id, page=page, page_size=page_size, order=order))
        return Page(data, items_key="sessions")

    async def iter(self, *, page_size: int = 100, **filters: Any) -> AsyncIterator[Record]:
        """Every session of yours matching the filters."""
        async for item in _compat.pages(
                lambda n: self.list(page=n, page_size=page_size, **filters)):
            yield item

    @operation("GET", "/api/sessions/{session_id}")
    async def get(self, session_id: Any) -> SessionDetail:
        return SessionDetail(await self._t.request("GET", f"/sessions/{path_id(session_id)}"))

    @operation("PUT", "/api/sessions/{session_id}")
    async def update(self, session_id: Any, settings: Mapping[str, Any]) -> SessionData:
        """Replace the session's settings (recorded in its history and a snapshot)."""
        return SessionData(await self._t.request(
            "PUT", f"/sessions/{path_id(session_id)}", json=body(settings=settings)))

    @operation("DELETE", "/api/sessions/{session_id}")
    async def delete(self, session_id: Any) -> Deleted:
        return Deleted(await self._t.request("DELETE", f"/sessions/{path_id(session_id)}"))

    @operation("GET", "/api/sessions/{session_id}/history")
    async def history(self, session_id: Any, *, page: int | None = None,
                      page_size: int | None = None,
                      order: Literal["asc", "desc"] | None = None) -> Page[Record]:
        """One page of the session's activity (the list is named `history`; `items` too)."""
        data = await self._t.request("GET", f"/sessions/{path_id(session_id)}/history",
                                     params=query(page=page, page_size=page_size, order=order))
        return Page(data, items_key="history")

    async def iter_history(self, session_id: Any, *, page_size: int = 100,
                           order: Literal["asc", "desc"] | None = None) -> AsyncIterator[Record]:
        async for item in _compat.pages(lambda n: self.history(
                session_id, page=n, page_size=page_size, order=order)):
            yield item

    @operation("POST", "/api/sessions/{session_id}/restore")
    async def restore(self, session_id: Any, restore_point: datetime | str, *,
                      include_tasks: bool = NOT_GIVEN,
                      include_settings: bool = NOT_GIVEN) -> SessionDetail:
        """Bring back the latest snapshot at or before `restore_point`."""
        return SessionDetail(await self._t.request(
            "POST", f"/sessions/{path_id(session_id)}/restore",
            json=body(restore_point=restore_point, include_tasks=include_tasks,
                      include_settings=include_settings)))
