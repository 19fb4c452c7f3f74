"""`/api/sessions`: create, list, read, update settings, delete, history, restore.

Routes parse and delegate to `app.services.sessions` (lifetime, snapshots, restore rules).
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import Field

from app.api.common import blueprint, endpoint
from app.api.schemas import Deleted, PageQuery
from app.api.validation import Body, IsoDateTime, Path, Response
from app.errors import envelope
from app.security import current_user
from app.services import sessions
from app.services.validation import parse_id

bp = blueprint("api_sessions", "/api/sessions", "Sessions",
               "Work sessions: settings, history, snapshots and restore; the socket "
               "/ws/{session_id} attaches to one")


class SessionCreateBody(Body):
    project_id: uuid.UUID | None = Field(None, description="A project you can see (optional)")
    settings: dict[str, Any] | None = Field(None, description="Any JSON object (10 KB)")


class SessionUpdateBody(Body):
    settings: dict[str, Any] = Field(..., description="Merged into the current settings; a "
                                     "null value removes that key")


class SessionListQuery(PageQuery):
    status: Literal["active", "expired", "closed"] | None = None
    project_id: uuid.UUID | None = None


class SessionHistoryQuery(PageQuery):
    order: Literal["asc", "desc"] = "asc"


class RestoreBody(Body):
    restore_point: IsoDateTime = Field(..., description="ISO 8601; not before the session's "
                                    "creation")
    include_tasks: bool = True
    include_settings: bool = True


class SessionPath(Path):
    session_id: str


class SessionData(Response):
    session_id: str
    project_id: str | None
    user_id: str
    status: str
    created_at: str
    last_accessed: str
    expires_at: str
    settings: dict[str, Any]


class SessionDetail(SessionData):
    project_name: str | None = None
    state: dict[str, Any]
    history_count: int


class SessionList(Response):
    sessions: list[dict[str, Any]]
    total: int


def _id(path: SessionPath) -> uuid.UUID:
    return parse_id(path.session_id, "SESSION_NOT_FOUND")


@endpoint(bp, "post", "/", auth="read", summary="Create session", data=SessionData,
          status=201, errors=[403, 404])
def create_session(body: SessionCreateBody):
    """A new active session, expiring SESSION_TTL_SECONDS (2 h) after its last use."""
    session = sessions.create_session(current_user(), body.project_id, body.settings)
    return envelope(sessions.session_dict(session), status=201)


@endpoint(bp, "get", "/", auth="read", summary="List sessions", data=SessionList)
def list_sessions(query: SessionListQuery):
    """Your sessions, most recently used first; `status` filters on the effective status."""
    result, names = sessions.list_sessions(
        current_user(), status=query.status, project_id=query.project_id, page=query.page,
        page_size=query.page_size, order=query.order)
    return envelope({
        "sessions": [sessions.session_dict(s, names.get(s.project_id)) for s in result.items],
        "total": result.total, "page": result.page, "page_size": result.page_size,
        "pages": result.pages, "has_next": result.has_next,
        "has_previous": result.has_previous})


@endpoint(bp, "get", "/<session_id>", auth="read", summary="Get session details",
          data=SessionDetail, errors=[404])
def get_session(path: SessionPath):
    """The session with its current state (tasks and commands run through it)."""
    session = sessions.get_session(_id(path), current_user())
    return envelope(sessions.session_detail(session))


@endpoint(bp, "put", "/<session_id>", auth="read", summary="Update session", data=SessionData,
          errors=[404, 409])
def update_session(path: SessionPath, body: SessionUpdateBody):
    """Change settings; the change is recorded in the history and a snapshot."""
    session = sessions.update_settings(_id(path), current_user(), body.settings)
    return envelope(sessions.session_dict(session))


class SessionHistoryData(Response):
    session_id: str
    history: list[dict[str, Any]]
    total: int
    page: int
    page_size: int
    pages: int
    has_next: bool
    has_previous: bool


@endpoint(bp, "delete", "/<session_id>", auth="read", summary="Delete session", data=Deleted,
          errors=[404])
def delete_session(path: SessionPath):
    """Close the session (kept for history); its open sockets are ended."""
    return envelope(sessions.delete_session(_id(path), current_user()))


@endpoint(bp, "get", "/<session_id>/history", auth="read", summary="Session history",
          data=SessionHistoryData, errors=[404])
def session_history(path: SessionPath, query: SessionHistoryQuery):
    """Creation, settings changes, socket connects and disconnects, runs, restores."""
    return envelope(sessions.history(_id(path), current_user(), query.page, query.page_size,
                                     query.order))


@endpoint(bp, "post", "/<session_id>/restore", auth="read", summary="Restore session",
          data=SessionDetail, errors=[404, 409])
def restore_session(path: SessionPath, body: RestoreBody):
    """Bring back settings and/or tasks from the latest snapshot at or before the point."""
    return envelope(sessions.restore(_id(path), current_user(), body.restore_point,
                                     include_tasks=body.include_tasks,
                                     include_settings=body.include_settings))
