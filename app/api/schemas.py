"""Shared API schemas: the envelope, errors, pagination query and payload (for the docs)."""

from __future__ import annotations

import functools
import uuid
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from app.api.validation import Body, Query, Response
from app.services.agent_settings import AgentSettings
from app.services.git_settings import GitSettingsBody
from app.services.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

T = TypeVar("T")
MAX_PAGE = 1_000_000  # far past any real list; keeps OFFSET inside a 64-bit integer


class Meta(BaseModel):
    timestamp: str = Field(examples=["2025-07-30T12:00:00Z"])
    request_id: str
    version: str | None = None


class ErrorBody(BaseModel):
    code: str = Field(examples=["VALIDATION_ERROR"])
    message: str
    details: dict[str, Any] | None = None


class ErrorEnvelope(BaseModel):
    data: None = None
    error: ErrorBody
    meta: Meta


@functools.cache
def envelope_of(model: type[BaseModel] | None) -> type[BaseModel]:
    """`{data: model, error: null, meta}` as a named schema for the OpenAPI document."""
    name = f"{model.__name__}Envelope" if model else "EmptyEnvelope"
    data_type: Any = model if model else dict[str, Any] | None
    return create_model(name, data=(data_type, ...), error=(None, None), meta=(Meta, ...))


class PageQuery(Query):
    """`page`, `page_size` (default 50, max 100), `order`; lists add their own `sort` whitelist."""

    page: int = Field(1, ge=1, le=MAX_PAGE, description="Page number, from 1")
    page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE,
                           description=f"Items per page (max {MAX_PAGE_SIZE})")
    order: Literal["asc", "desc"] = "desc"


class PageLinks(BaseModel):
    first: str
    previous: str | None
    next: str | None
    last: str


class PageOf(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int
    pages: int
    has_next: bool
    has_previous: bool
    links: PageLinks | None = None


class CancelBody(Body):
    """Optional: a cancel without a body is fine."""

    reason: str | None = Field(None, max_length=1000)

    @model_validator(mode="before")
    @classmethod
    def _empty(cls, data: Any) -> Any:
        return {} if data is None else data


# Field shapes the services check (with their own precise codes, for the API, the pages and
# the sockets alike), stated in the document as JSON Schema so that what it calls valid is
# accepted -- schemathesis holds the two together. `json_schema_extra` only documents.
NO_NUL = r"^[^\x00]*$"
NON_BLANK = r"^[^\x00]*[^\s\x00\x1c-\x1f][^\x00]*$"  # something left after trimming
NAME_RULES = {"minLength": 1, "maxLength": 200, "pattern": NON_BLANK}
TEXT_RULES = {"maxLength": 10_000, "pattern": NO_NUL}
TAGS_RULES = {"maxItems": 20, "items": {"type": "string", "pattern": r"^[A-Za-z0-9_.-]{1,50}$"}}
DURATION_RULES = {"pattern": r"^\d{1,6}:[0-5]\d:[0-5]\d$"}
# Relative (no leading / or ~, no ".." part), each part a file name the system can hold
# (255 bytes: 63 characters of any width).
_PART = r"(?:[^/.\x00][^/\x00]{0,62}|\.[^/.\x00][^/\x00]{0,61}|\.\.[^/\x00]{1,61}|\.?)"
_FIRST = r"(?:[^/.~\x00][^/\x00]{0,62}|\.[^/.\x00][^/\x00]{0,61}|\.\.[^/\x00]{1,61}|\.)"


def listing(values: tuple[str, ...]) -> str:
    """The pattern of a comma-separated list of `values` (spaces around items allowed; empty
    is no filter)."""
    one = "(?:" + "|".join(values) + ")"
    return rf"^\s*(?:{one}\s*(?:,\s*{one}\s*)*)?$"


PATH_RULES = {"maxLength": 1000, "pattern": f"^(?:{_FIRST}(?:/{_PART})*)?$"}

Priority = Literal["high", "normal", "low", "high_priority", "normal_priority", "low_priority"]
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"


class ExecuteOptions(Body):
    """`options` of running a task, the same model for POST /api/tasks/{id}/execute and the
    socket's `execute_task` (the environment's names are then checked by the service)."""

    timeout: int | None = Field(None, ge=1, le=86400, description="Seconds before TASK_TIMEOUT")
    retry_attempts: int | None = Field(None, ge=0, le=10,
                                       description="Automatic retries after a failure")
    environment: dict[Annotated[str, Field(pattern=ENV_NAME_PATTERN)],
                      Annotated[str, Field(max_length=32 * 1024, pattern=r"^[^\x00]*$")]] | None = (
        Field(None, max_length=100, description="Extra environment variables (NAME: value); "
              "variables that change how programs start (BASH_ENV, LD_*, PYTHONPATH, ...) "
              "are refused"))
    force: bool | None = Field(None, description="Admins only: run a command found unsafe")
    override_budget: bool | None = Field(
        None, description="Admins only: start a Claude run although the project's monthly "
        "budget is spent (otherwise 409 PROJECT_BUDGET_EXCEEDED); recorded in the task's "
        "history")

    def as_dict(self) -> dict[str, Any]:
        """What the service takes: the options given (None left out)."""
        return self.model_dump(exclude_none=True)


class ExecuteBody(Body):
    """POST /api/tasks/{id}/execute (and the socket's execute_task, plus its task_id)."""

    priority: Priority = "normal"
    options: ExecuteOptions | None = None

    def options_dict(self) -> dict[str, Any]:
        return self.options.as_dict() if self.options else {}


class ProjectSettings(Body):
    """A project's `settings`: any JSON object (at most 10 KB), with two keys the service
    reads: `members` (user ids sharing the project) and `agent` (how its Claude runs go; a
    task's `metadata.claude` overrides it field by field)."""

    model_config = ConfigDict(extra="allow")

    members: list[uuid.UUID] | None = Field(None, max_length=500,
                                            description="Users who share the project")
    agent: AgentSettings | None = Field(None, description="Claude settings of the project's "
                                                          "runs; null removes them")
    git: GitSettingsBody | None = Field(None, description="Git worktree per task "
                                        "(app.services.git_settings); null removes it")


class TaskMetadata(Body):
    """A task's `metadata`: any JSON object (at most 10 KB); `claude` overrides the project's
    `settings.agent` field by field, `environment` adds variables to its runs."""

    model_config = ConfigDict(extra="allow")

    claude: AgentSettings | None = Field(None, description="Overrides of the project's agent "
                                                           "settings for this task's runs")


class OutputQuery(Query):
    """Output of a run after a sequence number (for resuming), at most `limit` lines."""

    after_seq: int = Field(0, ge=0, description="Only lines with a greater sequence number")
    limit: int = Field(1000, ge=1, le=10000, description="At most this many lines")


class Message(BaseModel):
    message: str


class Deleted(Response):
    """A soft delete: the row is kept (history), the resource answers 404 afterwards."""

    message: str
    deleted_at: str | None = None
