"""Error codes, the AppError hierarchy and the JSON envelope (CONTRACT §8).

Every error code the API reference lists lives in `ERROR_CODES` with its HTTP status and default
message; services raise `AppError(code, ...)` and never think about HTTP. Every `/api` response,
success or failure, goes out through `envelope()`.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, g, has_request_context, jsonify, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

# code -> (HTTP status, default message)
ERROR_CODES: dict[str, tuple[int, str]] = {
    # Authentication
    "AUTH_TOKEN_INVALID": (401, "Token is invalid or expired"),
    "AUTH_TOKEN_MISSING": (401, "Authorization header missing"),
    "AUTH_INVALID_CREDENTIALS": (401, "Invalid username or password"),
    "AUTH_INSUFFICIENT_PERMISSIONS": (403, "You lack the permission this action needs"),
    "AUTH_ACCOUNT_DISABLED": (403, "This account is disabled"),
    # Validation
    "VALIDATION_ERROR": (422, "Request data validation failed"),
    "VALIDATION_REQUIRED_FIELD": (422, "Required field is missing"),
    "VALIDATION_INVALID_FORMAT": (422, "Field format is invalid"),
    "VALIDATION_VALUE_TOO_LONG": (422, "Field value exceeds maximum length"),
    "VALIDATION_VALUE_TOO_SHORT": (422, "Field value below minimum length"),
    # Resources
    "RESOURCE_NOT_FOUND": (404, "Requested resource doesn't exist"),
    "RESOURCE_ALREADY_EXISTS": (409, "Resource with same identifier exists"),
    "RESOURCE_IN_USE": (409, "Resource cannot be deleted (in use)"),
    "RESOURCE_LIMIT_EXCEEDED": (409, "Resource limit reached"),
    "METHOD_NOT_ALLOWED": (405, "Method not allowed for this resource"),
    "PAYLOAD_TOO_LARGE": (413, "Request body is too large"),
    "BAD_REQUEST": (400, "Invalid request"),
    # Tasks
    "TASK_NOT_FOUND": (404, "Task doesn't exist"),
    "TASK_ALREADY_RUNNING": (409, "Task is already being executed"),
    "TASK_EXECUTION_FAILED": (500, "Task execution failed"),
    "TASK_TIMEOUT": (504, "Task execution timed out"),
    "TASK_CANCELLED": (409, "Task was cancelled"),
    "TASK_DEPENDENCY_NOT_MET": (409, "Task dependencies not satisfied"),
    "TASK_DEPENDENCY_CYCLE": (409, "Dependency would create a cycle"),
    "TASK_INVALID_TRANSITION": (409, "Status change not allowed"),
    # Projects
    "PROJECT_NOT_FOUND": (404, "Project doesn't exist"),
    "PROJECT_ACCESS_DENIED": (403, "You don't have access to this project"),
    "PROJECT_ARCHIVED": (409, "Project is archived and read-only"),
    "PROJECT_LIMIT_EXCEEDED": (409, "Project resource limits exceeded"),
    "PROJECT_BUDGET_EXCEEDED": (409, "The project's monthly budget is spent"),
    # Other resources
    "EXECUTION_NOT_FOUND": (404, "Execution doesn't exist"),
    "COMMAND_NOT_FOUND": (404, "Command doesn't exist"),
    "SESSION_NOT_FOUND": (404, "Session doesn't exist"),
    "SESSION_EXPIRED": (409, "Session has expired"),
    "WEBHOOK_NOT_FOUND": (404, "Webhook doesn't exist"),
    "USER_NOT_FOUND": (404, "User doesn't exist"),
    "QUEUE_NOT_FOUND": (404, "Queue doesn't exist"),
    # Git worktrees (settings.git)
    "GIT_NOT_ENABLED": (409, "Git worktrees are not enabled for this project"),
    "GIT_REPOSITORY_UNAVAILABLE": (409, "The project's git repository is not usable"),
    "WORKTREE_NOT_READY": (409, "The task has no worktree yet"),
    "WORKTREE_BUSY": (409, "Another git operation on this project is in progress"),
    "GIT_NOTHING_TO_DO": (409, "Nothing to commit, discard or merge"),
    "GIT_UNCOMMITTED_CHANGES": (409, "Uncommitted changes are in the way"),
    "GIT_MERGE_CONFLICT": (409, "The branches conflict; nothing was changed"),
    "GIT_OPERATION_FAILED": (500, "A git command failed"),
    # Claude conversations (app.services.conversation, app.services.approvals)
    "CLAUDE_NO_SESSION": (409, "There is no Claude conversation to continue"),
    "CLAUDE_SESSION_NOT_FOUND": (409, "The Claude conversation's transcript was not found"),
    "CLAUDE_RESUME_UNAVAILABLE": (409, "The Claude conversation cannot be resumed here"),
    "EXECUTION_NOT_RUNNING": (409, "The run is not running"),
    "APPROVAL_NOT_FOUND": (404, "Permission request doesn't exist"),
    "APPROVAL_ALREADY_DECIDED": (409, "The permission request was already answered"),
    # Rate limiting
    "RATE_LIMIT_EXCEEDED": (429, "Too many requests. Please try again later."),
    # System
    "SYSTEM_MAINTENANCE": (503, "System is in maintenance mode"),
    "SYSTEM_OVERLOADED": (503, "System is overloaded, try again later"),
    "DATABASE_ERROR": (500, "Database operation failed"),
    "QUEUE_FULL": (503, "Task queue is full"),
    "WEBSOCKET_CONNECTION_FAILED": (500, "WebSocket connection failed"),
    "INTERNAL_ERROR": (500, "An unexpected error occurred"),
}

_HTTP_TO_CODE = {
    400: "BAD_REQUEST",
    401: "AUTH_TOKEN_MISSING",
    403: "AUTH_INSUFFICIENT_PERMISSIONS",
    404: "RESOURCE_NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    429: "RATE_LIMIT_EXCEEDED",
}


class AppError(Exception):
    """A failure the client can act on: a catalogued code, a message and optional details."""

    def __init__(
        self, code: str, message: str | None = None, details: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code}")
        default_status, default_message = ERROR_CODES[code]
        super().__init__(message or default_message)
        self.code = code
        self.message = message or default_message
        self.details = details
        self.status = status or default_status


class ValidationFailed(AppError):
    """A 422 about one field: `details.field` and `details.issue`, as CONTRACT §8 asks."""

    def __init__(self, field: str, issue: str, code: str = "VALIDATION_ERROR",
                 **extra: Any) -> None:
        super().__init__(code, f"Invalid input data: {field}: {issue}",
                         {"field": field, "issue": issue, **extra})


class NotFound(AppError):
    """Unknown id: 404 with the resource's own code (TASK_NOT_FOUND, PROJECT_NOT_FOUND, ...)."""

    def __init__(self, code: str = "RESOURCE_NOT_FOUND", message: str | None = None) -> None:
        super().__init__(code, message)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (the only kind of time this app stores)."""
    return datetime.now(UTC)


def iso(dt: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z`, as the reference shows timestamps."""
    if dt is None:
        return None
    if dt.tzinfo is UTC:  # what the database gives back: skip the conversion (lists show many)
        return dt.isoformat()[:-6] + "Z"
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def request_id() -> str:
    """This request's id (echoed from `X-Request-ID` or generated)."""
    if has_request_context():
        rid = getattr(g, "request_id", None)
        if rid is None:
            rid = g.request_id = str(uuid.uuid4())
        return rid
    return str(uuid.uuid4())


def meta() -> dict[str, str]:
    return {"timestamp": iso(utcnow()), "request_id": request_id(),
            "version": current_app.config["VERSION"]}


def envelope(data: Any = None, status: int = 200, headers: dict | None = None):
    """A success response in the envelope."""
    resp = jsonify({"data": data, "error": None, "meta": meta()})
    resp.status_code = status
    if headers:
        resp.headers.update(headers)
    return resp


def error_envelope(code: str, message: str | None = None, details: dict | None = None,
                   status: int | None = None):
    """A failure response in the envelope."""
    default_status, default_message = ERROR_CODES[code]
    body = {"code": code, "message": message or default_message, "details": details}
    resp = jsonify({"data": None, "error": body, "meta": meta()})
    resp.status_code = status or default_status
    return resp


def wants_json() -> bool:
    """API paths always get the envelope; pages get HTML."""
    return request.path.startswith("/api")


def register_error_handlers(app: Flask) -> None:
    """AppError, HTTP errors and crashes become envelopes under /api and error pages elsewhere."""

    @app.errorhandler(AppError)
    def _app_error(exc: AppError):
        if wants_json():
            return error_envelope(exc.code, exc.message, exc.details, exc.status)
        return _page(exc.status, exc.message)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if exc.response is not None and exc.code not in (405, 413):
            return exc.response  # already a full response (e.g. a validation envelope via abort)
        if not wants_json():
            return _page(exc.code or 500, exc.description or exc.name)
        code = _HTTP_TO_CODE.get(exc.code or 500, "INTERNAL_ERROR")
        details = None
        if exc.code == 405:
            details = {"method": request.method, "allowed": sorted(exc.valid_methods or [])}
        resp = error_envelope(code, exc.description if exc.code == 400 else None, details,
                              exc.code)
        if exc.code == 405 and exc.valid_methods:
            resp.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        return resp

    @app.errorhandler(DBAPIError)
    def _database(exc: DBAPIError):
        from app.extensions import db

        db.session.rollback()
        log.exception("database error in request %s %s %s", request_id(), request.method,
                      request.path)
        # Unreachable or locked database: a temporary condition (503); anything else: 500.
        status = 503 if isinstance(exc, OperationalError) else 500
        message = (f"Database operation failed (request id {request_id()}); try again later"
                   if status == 503 else f"Database operation failed (request id {request_id()})")
        if wants_json():
            return error_envelope("DATABASE_ERROR", message, status=status)
        return _page(status, "The database is not answering right now. Try again shortly.")

    @app.errorhandler(Exception)
    def _crash(exc: Exception):
        log.exception("unhandled error in request %s %s %s", request_id(), request.method,
                      request.path)
        if wants_json():
            return error_envelope("INTERNAL_ERROR",
                                  f"An unexpected error occurred (request id {request_id()})")
        return _page(500, "Something went wrong on our side.")


def _page(status: int, message: str):
    return render_template("errors/error.html", status=status, message=message), status
