"""What the sync and async clients share and that never waits: building query strings and
bodies, reading envelopes into data or typed errors, reading Retry-After, the socket URL."""

from __future__ import annotations

import email.utils
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx

from claude_cli_sdk._records import NotGiven
from claude_cli_sdk.errors import make_error

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_TIMEOUT = 30.0


def operation(method: str, path: str) -> Callable[[F], F]:
    """Names the API operation a method calls (`GET /api/tasks/{task_id}`); the SDK's tests
    check that every operation of the server's OpenAPI document has one."""

    def mark(func: F) -> F:
        func.__api_operation__ = (method.upper(), path)  # type: ignore[attr-defined]
        return func

    return mark


def param(value: Any) -> Any:
    """A query value as the API reads it: lists comma-joined, ids and dates as text."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(str(param(v)) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def query(**params: Any) -> dict[str, Any]:
    """Query parameters without the ones left at None (no filter)."""
    return {k: param(v) for k, v in params.items() if v is not None and not isinstance(
        v, NotGiven)}


def jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items() if not isinstance(v, NotGiven)}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict())
    return value


def body(**fields: Any) -> dict[str, Any]:
    """A JSON body of the fields given (NOT_GIVEN left out; None is sent as null)."""
    return {k: jsonable(v) for k, v in fields.items() if not isinstance(v, NotGiven)}


def path_id(value: Any) -> str:
    text = str(value)
    if not text or "/" in text:
        raise ValueError(f"not an id: {value!r}")
    return text


def retry_after(response: httpx.Response) -> float:
    """Seconds until a 429's window resets: the later of Retry-After (seconds or an HTTP date)
    and X-RateLimit-Reset (epoch seconds); one second when neither is sent."""
    waits: list[float] = []
    header = (response.headers.get("Retry-After") or "").strip()
    if header:
        try:
            waits.append(float(header))
        except ValueError:
            try:
                waits.append(email.utils.parsedate_to_datetime(header).timestamp() - time.time())
            except (TypeError, ValueError):
                pass
    reset = response.headers.get("X-RateLimit-Reset")
    if reset:
        try:
            waits.append(float(reset) - time.time())
        except ValueError:
            pass
    return max(0.0, *waits) if waits else 1.0


def error_code(response: httpx.Response) -> str | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    error = payload.get("error") if isinstance(payload, dict) else None
    return error.get("code") if isinstance(error, dict) else None


def parse_response(response: httpx.Response) -> Any:
    """The envelope's `data`, or the typed error its `error` describes."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if response.is_success:
        if isinstance(payload, dict) and "data" in payload:
            return payload["data"]
        return payload
    error = payload.get("error") if isinstance(payload, dict) else None
    meta = payload.get("meta") if isinstance(payload, dict) else None
    request_id = (meta or {}).get("request_id") or response.headers.get("X-Request-ID")
    if not isinstance(error, dict):
        error = {"message": response.text[:200] or response.reason_phrase}
    raise make_error(response.status_code, error, request_id=request_id, body=payload,
                     retry_after=retry_after(response) if response.status_code == 429 else None)


def websocket_url(base_url: str, session_id: str, ws_url: str | None = None) -> str:
    """`ws://host/ws/{session_id}` from `http://host/api` (or from `ws_url`, the `/ws` root)."""
    if ws_url:
        return f"{ws_url.rstrip('/')}/{path_id(session_id)}"
    parts = urlsplit(base_url)
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
    root = parts.path.rstrip("/")
    if root.endswith("/api"):
        root = root[: -len("/api")]
    return urlunsplit((scheme, parts.netloc, f"{root}/ws/{path_id(session_id)}", "", ""))


def strs(values: Iterable[Any]) -> list[str]:
    return [str(v) for v in values]
