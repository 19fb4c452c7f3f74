"""Python client for the Claude CLI Web UI API.

    from claude_cli_sdk import ClaudeCliClient

    client = ClaudeCliClient("http://localhost:8000/api", username="me", password="...")
    task = client.tasks.create(title="Build", project_id=project_id, executor="shell",
                               command="make")
    run = client.tasks.execute(task.id, priority="high")
    for line in client.stream(run.execution_id):
        print(line.content, end="")

`AsyncClaudeCliClient` is the same surface with `await` / `async for`.
"""

from claude_cli_sdk._async.client import AsyncClaudeCliClient
from claude_cli_sdk._async.realtime import AsyncOutputStream, AsyncWebSocket
from claude_cli_sdk._records import NOT_GIVEN, OutputLine, Page, Record, WsMessage
from claude_cli_sdk._sync.client import ClaudeCliClient
from claude_cli_sdk._sync.realtime import OutputStream, WebSocket
from claude_cli_sdk.errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ClaudeCliError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    StreamDisconnectedError,
    ValidationError,
)

__version__ = "1.0.0"
__all__ = [
    "NOT_GIVEN", "APIConnectionError", "APIError", "AsyncClaudeCliClient", "AsyncOutputStream",
    "AsyncWebSocket", "AuthenticationError", "BadRequestError", "ClaudeCliClient",
    "ClaudeCliError", "ConflictError", "InternalServerError", "NotFoundError", "OutputLine",
    "OutputStream", "Page", "PayloadTooLargeError", "PermissionDeniedError", "RateLimitError",
    "Record", "ServiceUnavailableError", "StreamDisconnectedError", "ValidationError",
    "WebSocket", "WsMessage",
]
