"""`/api/commands`: run command lines on a worker, follow them, validate them (CONTRACT §4)."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field, field_validator

from app.api.common import blueprint, endpoint
from app.api.schemas import NO_NUL, PATH_RULES, CancelBody, OutputQuery
from app.api.validation import Body, Path, Query, Response
from app.errors import envelope
from app.request_hooks import maintenance_exempt
from app.security import current_user
from app.services import command_safety, command_suggestions
from app.services import commands as command_service

NAME_MAX = 255  # bytes in one path part (Linux NAME_MAX)

bp = blueprint("api_commands", "/api/commands", "Commands",
               "Command lines run on workers, their output, validation and suggestions")


class CommandPath(Path):
    command_id: uuid.UUID


class CommandExecuteBody(Body):
    command: str = Field(..., min_length=1, max_length=10000, pattern=NO_NUL)
    working_directory: str | None = Field(None, max_length=1000,
                                          description="Relative to the project's workspace",
                                          json_schema_extra=PATH_RULES)
    timeout: int | None = Field(None, ge=1, le=86400, description="Seconds")
    environment: dict[str, str] | None = None
    stream_output: bool = True
    project_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    force: bool = Field(False, description="Admins only: run a command found unsafe")

    @field_validator("working_directory")
    @classmethod
    def _part_lengths(cls, value: str | None) -> str | None:
        """A part longer than a file name can be made the directory check fail (ENAMETOOLONG,
        a 500): refuse it here with the reason."""
        if value and any(len(part.encode()) > NAME_MAX for part in value.split("/")):
            raise ValueError(f"each part of the path is at most {NAME_MAX} bytes")
        return value


class ValidateBody(Body):
    command: str = Field(..., max_length=10000)
    check_safety: bool = True


class CommandHistoryQuery(Query):
    limit: int = Field(50, ge=1, le=100)
    offset: int = Field(0, ge=0)


class SuggestionsQuery(Query):
    context: str | None = Field(None, max_length=100)
    prefix: str | None = Field(None, max_length=500)
    limit: int = Field(10, ge=1, le=50)


class StartedData(BaseModel):
    command_id: str
    status: str
    pid: int | None
    started_at: str | None


class StatusData(StartedData):
    command: str
    output: list[dict[str, Any]]
    exit_code: int | None


class ValidateData(BaseModel):
    valid: bool
    safe: bool | None
    warnings: list[str]
    suggestions: list[str]


@endpoint(bp, "post", "/execute", auth="execute", summary="Execute command", data=StartedData,
          errors=[403, 404, 503])
def execute(body: CommandExecuteBody):
    """Queue the command (high queue); `running` with its pid when it starts within a moment."""
    data = body.model_dump()
    command = data.pop("command")
    data["env"] = data.pop("environment")
    return envelope(command_service.execute(current_user(), command, **data))


@endpoint(bp, "get", "/<uuid:command_id>/status", auth="read", summary="Get command status",
          data=StatusData, errors=[403, 404])
def status(path: CommandPath, query: OutputQuery):
    """Status, exit code and output lines after `after_seq`."""
    return envelope(command_service.status(path.command_id, current_user(), query.after_seq,
                                           query.limit))


class CommandCancelData(Response):
    command_id: str
    status: str
    cancelled_at: str | None = None
    exit_code: int | None = None


class CommandRow(Response):
    command_id: str
    command: str
    status: str
    started_at: str | None = None
    completed_at: str | None = None
    exit_code: int | None = None
    duration: float | None = None


class RunningData(BaseModel):
    commands: list[CommandRow]
    total_running: int


class CommandHistoryData(BaseModel):
    commands: list[CommandRow]
    total: int
    limit: int
    offset: int


class Suggestion(Response):
    command: str
    description: str
    category: str


class SuggestionsData(BaseModel):
    suggestions: list[Suggestion]


@maintenance_exempt
@endpoint(bp, "post", "/<uuid:command_id>/cancel", auth="execute", summary="Cancel command",
          data=CommandCancelData, errors=[403, 404, 409])
def cancel(path: CommandPath, body: CancelBody):
    """SIGTERM to the whole process group, SIGKILL after the grace period."""
    reason = body.reason
    return envelope(command_service.cancel(path.command_id, current_user(), reason))


@endpoint(bp, "get", "/running", auth="read", summary="List running commands",
          data=RunningData)
def running():
    """Running commands the caller may see."""
    return envelope(command_service.running(current_user()))


@endpoint(bp, "get", "/history", auth="read", summary="Command history",
          data=CommandHistoryData)
def history(query: CommandHistoryQuery):
    """The caller's commands, newest first (everyone's for an admin)."""
    return envelope(command_service.history(current_user(), query.limit, query.offset))


@endpoint(bp, "get", "/suggestions", auth="read", summary="Command suggestions",
          data=SuggestionsData)
def suggestions(query: SuggestionsQuery):
    """Ranked from a built-in catalogue and the caller's own history."""
    items = command_suggestions.suggest(current_user().id, query.context, query.prefix,
                                        query.limit)
    return envelope({"suggestions": items})


@maintenance_exempt
@endpoint(bp, "post", "/validate", auth="read", summary="Validate command", data=ValidateData)
def validate(body: ValidateBody):
    """Parse the command line and report whether it is valid and safe, and why."""
    return envelope(command_safety.analyze(body.command).to_dict(body.check_safety))
