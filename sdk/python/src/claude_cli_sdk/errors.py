"""Typed errors carrying the envelope's `code`, `message`, `details` and `request_id`.

The class follows the HTTP status (404 → NotFoundError, 409 → ConflictError, 422 →
ValidationError, ...); `code` says precisely what happened (`TASK_NOT_FOUND`,
`TASK_ALREADY_RUNNING`, `VALIDATION_REQUIRED_FIELD`, ...). Socket `error` messages, which have no
status, get the class their code's REST twin would.
"""

from __future__ import annotations

from typing import Any


class ClaudeCliError(Exception):
    """Anything this SDK raises."""


class APIConnectionError(ClaudeCliError):
    """The server could not be reached, or the connection broke."""


class APIError(ClaudeCliError):
    """The server answered with an error envelope."""

    def __init__(self, message: str, *, code: str | None = None, status_code: int | None = None,
                 details: dict[str, Any] | None = None, request_id: str | None = None,
                 body: Any = None) -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.message = message
        self.code = code
        self.status_code = status_code
        self.details = details or {}
        self.request_id = request_id
        self.body = body


class BadRequestError(APIError):
    """400."""


class AuthenticationError(APIError):
    """401: no token, a bad or expired one (after a refresh was tried), wrong credentials."""


class PermissionDeniedError(APIError):
    """403: the role lacks a permission, the project is someone else's, account disabled."""


class NotFoundError(APIError):
    """404: `code` names the resource (`TASK_NOT_FOUND`, `PROJECT_NOT_FOUND`, ...)."""


class ConflictError(APIError):
    """409: the resource's state forbids it (`TASK_ALREADY_RUNNING`, `PROJECT_ARCHIVED`, ...)."""


class PayloadTooLargeError(APIError):
    """413."""


class ValidationError(APIError):
    """422: `details.field` and `details.issue` say what to fix."""

    @property
    def field(self) -> str | None:
        return self.details.get("field")

    @property
    def issue(self) -> str | None:
        return self.details.get("issue")


class RateLimitError(APIError):
    """429 still standing after the retries (or a wait longer than `max_retry_wait`)."""

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class InternalServerError(APIError):
    """5xx other than 503."""


class ServiceUnavailableError(APIError):
    """503: maintenance mode, a full queue, Redis unreachable (`code` says which)."""


class StreamDisconnectedError(APIConnectionError):
    """An output stream could not be resumed; `last_seq` is where to resume from later."""

    def __init__(self, message: str, last_seq: int) -> None:
        super().__init__(message)
        self.last_seq = last_seq


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError, 401: AuthenticationError, 403: PermissionDeniedError,
    404: NotFoundError, 409: ConflictError, 413: PayloadTooLargeError, 422: ValidationError,
    429: RateLimitError, 503: ServiceUnavailableError,
}
_FORBIDDEN = {"AUTH_INSUFFICIENT_PERMISSIONS", "AUTH_ACCOUNT_DISABLED", "PROJECT_ACCESS_DENIED"}
_CONFLICT_PREFIXES = ("TASK_ALREADY", "TASK_DEPENDENCY", "TASK_INVALID", "PROJECT_ARCHIVED",
                      "PROJECT_LIMIT", "RESOURCE_ALREADY", "RESOURCE_IN_USE", "SESSION_EXPIRED",
                      "TASK_CANCELLED", "RESOURCE_LIMIT")
_UNAVAILABLE = {"SYSTEM_MAINTENANCE", "SYSTEM_OVERLOADED", "QUEUE_FULL"}


def class_for(status: int | None, code: str | None) -> type[APIError]:
    """The error class for an HTTP status, or for a code alone (socket errors)."""
    if status is not None:
        if status in _BY_STATUS:
            return _BY_STATUS[status]
        return InternalServerError if status >= 500 else APIError
    code = code or ""
    if code.startswith("AUTH_") and code not in _FORBIDDEN:
        return AuthenticationError
    if code in _FORBIDDEN:
        return PermissionDeniedError
    if code.endswith("_NOT_FOUND"):
        return NotFoundError
    if code.startswith("VALIDATION_"):
        return ValidationError
    if code.startswith(_CONFLICT_PREFIXES):
        return ConflictError
    if code == "RATE_LIMIT_EXCEEDED":
        return RateLimitError
    if code in _UNAVAILABLE:
        return ServiceUnavailableError
    return APIError


def make_error(status: int | None, error: dict[str, Any] | None, *,
               request_id: str | None = None, body: Any = None,
               retry_after: float | None = None) -> APIError:
    """An APIError from an envelope's `error` object (or a bare status)."""
    error = error or {}
    code = error.get("code")
    message = error.get("message") or (f"HTTP {status}" if status else "error")
    cls = class_for(status, code)
    kwargs: dict[str, Any] = {"code": code, "status_code": status,
                              "details": error.get("details"), "request_id": request_id,
                              "body": body}
    if cls is RateLimitError:
        kwargs["retry_after"] = retry_after
    return cls(message, **kwargs)
