"""The `/ws/{session_id}` JSON protocol: client messages (validated) and server messages (built).

Client → server (api-reference "WebSocket"): authenticate, execute_task, subscribe, unsubscribe,
get_metrics, ping. Server → client: task_update, task_completed, command_output,
performance_data, notification, error, pong; plus the acknowledgements the reference leaves
open: authenticated, subscribed, unsubscribed, project_update (project_updates channel) and
command_completed (the end of an output stream, after its last line).

Every server message is `{"type", "data", "timestamp"}` (pong: `timestamp` in ms, as shown).
Validation failures use the API's codes (`VALIDATION_REQUIRED_FIELD`, `VALIDATION_ERROR`, ...)
with `details.field` / `details.issue`, like the REST envelope.

Each client message is its REST twin over the socket, with the same rules in the same order:
authenticated first, then the role's permission (`permission`: `execute_task` needs `execute`
like POST /api/tasks/{id}/execute; subscribing, unsubscribing and metrics need `read` like the
GETs they mirror), then validation with the same models (`execute_task`'s priority and options
are the REST body's `ExecuteBody` fields), then the same service call. The frame's JSON is read
like a REST body (`loads_strict`: bounded depth, valid Unicode).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field, ValidationError, model_validator

from app.api.schemas import ExecuteBody, ExecuteOptions, Priority
from app.api.validation import Bounded, describe, loads_strict
from app.errors import ERROR_CODES, ValidationFailed, iso, utcnow

CHANNELS = ("project_updates", "task_updates", "command_output", "system")
METRICS = ("performance", "queue_status", "system_health")
FINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})


class ProtocolError(Exception):
    """A client mistake answered with an `error` message; `close` ends the connection too."""

    def __init__(self, code: str, message: str | None = None,
                 details: dict[str, Any] | None = None, *, close: bool = False,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(message or ERROR_CODES[code][1])
        self.code = code
        self.message = message or ERROR_CODES[code][1]
        self.details = details
        self.close = close
        self.extra = extra or {}


class Close(Exception):
    """End the connection (after what is already queued for the client is sent)."""

    def __init__(self, code: int = 1008, reason: str = "") -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _Msg(Bounded):
    model_config = ConfigDict(extra="ignore")
    # The role permission its REST twin requires; None: none (but authenticated, except
    # for `authenticate` itself).
    permission: ClassVar[str | None] = "read"
    type: str


class Authenticate(_Msg):
    permission = None
    token: str = Field(min_length=1, max_length=8192)


class ExecuteTask(_Msg):
    """POST /api/tasks/{task_id}/execute over the socket: the body's own field models."""

    permission = "execute"
    task_id: uuid.UUID
    priority: Priority = "normal"
    options: ExecuteOptions | None = None

    def body(self) -> ExecuteBody:
        return ExecuteBody(priority=self.priority, options=self.options)


class _ChannelMsg(_Msg):
    channel: Literal[CHANNELS]  # type: ignore[valid-type]
    project_id: uuid.UUID | None = None
    task_id: uuid.UUID | None = None
    command_id: uuid.UUID | None = None
    execution_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _target(self):
        if self.channel == "project_updates" and self.project_id is None:
            raise _missing("project_id")
        if self.channel == "task_updates" and (self.task_id is None) == (self.project_id is None):
            if self.task_id is None:
                raise _missing("task_id")
            raise ValueError("give task_id or project_id, not both")
        if self.channel == "command_output" and (
                (self.command_id is None) == (self.execution_id is None)):
            if self.command_id is None:
                raise _missing("command_id")
            raise ValueError("give command_id or execution_id, not both")
        return self

    def key(self) -> str:
        """Identifies a subscription: channel plus its target."""
        target = (self.command_id or self.execution_id or self.task_id or self.project_id)
        if self.channel == "task_updates":
            target = f"task:{self.task_id}" if self.task_id else f"project:{self.project_id}"
        elif self.channel == "command_output":
            target = (f"command:{self.command_id}" if self.command_id
                      else f"execution:{self.execution_id}")
        return f"{self.channel}:{target or '*'}"


class Subscribe(_ChannelMsg):
    after_seq: int | None = Field(None, ge=0)


class Unsubscribe(_ChannelMsg):
    pass


class GetMetrics(_Msg):
    metrics: list[Literal[METRICS]] | None = Field(None, max_length=10)  # type: ignore[valid-type]


class Ping(_Msg):
    permission = None
    timestamp: int | float | str | None = None


class _Missing(ValueError):
    def __init__(self, field: str) -> None:
        super().__init__(f"{field} is required for this channel")
        self.field = field


def _missing(field: str) -> _Missing:
    return _Missing(field)


MESSAGES: dict[str, type[_Msg]] = {
    "authenticate": Authenticate, "execute_task": ExecuteTask, "subscribe": Subscribe,
    "unsubscribe": Unsubscribe, "get_metrics": GetMetrics, "ping": Ping,
}


def parse(text: str | bytes, admit: Callable[[type[_Msg]], None] | None = None) -> _Msg:
    """A client frame to its message model; ProtocolError (connection kept) when it is not.

    `admit(model)` runs once the message's kind is known and before its fields are validated
    (authentication and permission come first, as on a REST route); it raises to refuse."""
    if isinstance(text, bytes):
        try:
            text = text.decode()
        except UnicodeDecodeError:
            raise ProtocolError("VALIDATION_INVALID_FORMAT", "Message is not UTF-8 text",
                                {"field": "message", "issue": "not UTF-8"}) from None
    try:
        raw = loads_strict(text, field="message")
    except ValidationFailed as exc:
        raise ProtocolError(exc.code, f"Invalid message: {exc.details['issue']}",
                            exc.details) from None
    except ValueError:
        raise ProtocolError("VALIDATION_INVALID_FORMAT", "Message is not valid JSON",
                            {"field": "message", "issue": "not valid JSON"}) from None
    if not isinstance(raw, dict):
        raise ProtocolError("VALIDATION_INVALID_FORMAT", "Message must be a JSON object",
                            {"field": "message", "issue": "must be a JSON object"})
    kind = raw.get("type")
    if kind is None:
        raise ProtocolError("VALIDATION_REQUIRED_FIELD", "Message has no type",
                            {"field": "type", "issue": "Field is required"})
    model = MESSAGES.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise ProtocolError("VALIDATION_ERROR", f"Unknown message type {kind!r}",
                            {"field": "type", "issue": "unknown message type",
                             "allowed": sorted(MESSAGES)})
    if admit is not None:
        admit(model)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise _validation_error(exc) from None


def _validation_error(exc: ValidationError) -> ProtocolError:
    errors = exc.errors(include_url=False, include_input=False)
    ctx_error = next((e.get("ctx", {}).get("error") for e in errors
                      if isinstance(e.get("ctx", {}).get("error"), _Missing)), None)
    if ctx_error is not None:
        return ProtocolError("VALIDATION_REQUIRED_FIELD", f"Invalid message: {ctx_error}",
                             {"field": ctx_error.field, "issue": "Field is required"})
    code, message, details = describe(exc)
    return ProtocolError(code, message.replace("Invalid input data", "Invalid message"),
                         details)


# ------------------------------------------------------------------ server messages

def frame(text: str) -> bytes:
    """`text` as one unmasked, uncompressed server text frame (RFC 6455 §5.2)."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return bytes((0x81, 126)) + n.to_bytes(2, "big") + payload
    return bytes((0x81, 127)) + n.to_bytes(8, "big") + payload


def dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), default=str)


def message(kind: str, data: dict[str, Any] | None, timestamp: str | None = None) -> str:
    return dumps({"type": kind, "data": data, "timestamp": timestamp or iso(utcnow())})


def error(code: str, message_text: str | None = None, details: dict[str, Any] | None = None,
          **extra: Any) -> str:
    data = {"code": code, "message": message_text or ERROR_CODES[code][1], **extra,
            "details": details}
    return message("error", data)


def pong(client_timestamp: Any = None) -> str:
    out: dict[str, Any] = {"type": "pong", "timestamp": int(time.time() * 1000)}
    if client_timestamp is not None:
        out["client_timestamp"] = client_timestamp
    return dumps(out)


def output_line(owner_type: str, owner_id: str, line: dict[str, Any],
                extra: dict[str, Any] | None = None) -> str:
    """One stored or live output line as a `command_output` message."""
    data: dict[str, Any] = {f"{owner_type}_id": str(owner_id), **(extra or {}),
                            "seq": line.get("seq"), "stream": line.get("stream", "stdout"),
                            "kind": line.get("kind", "line"), "content": line.get("content", ""),
                            "timestamp": line.get("timestamp")}
    if line.get("data") is not None:
        data["data"] = line["data"]
    return message("command_output", data, line.get("timestamp"))


def notification(level: str, title: str, text: str, *, actions: list[dict] | None = None,
                 **extra: Any) -> str:
    data = {"level": level, "title": title, "message": text,
            "actions": actions or [{"label": "Dismiss", "action": "dismiss"}], **extra}
    return message("notification", data)
