"""`/api/tasks/{id}/execute|cancel|retry|follow-up|executions`, `/api/executions/{id}` and
talking to a running Claude run: `/api/executions/{id}/messages|interrupt|approvals`,
`/api/approvals/{id}/decision` (CONTRACT §3; app.services.conversation, approvals)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from app.api.common import blueprint, endpoint
from app.api.schemas import (
    NO_NUL,
    NON_BLANK,
    CancelBody,
    ExecuteBody,
    OutputQuery,
    PageOf,
    PageQuery,
)
from app.api.validation import Body, Path
from app.errors import envelope
from app.request_hooks import maintenance_exempt
from app.security import current_user
from app.services import approvals, conversation, executions

bp = blueprint("api_task_runs", "/api", "Task runs",
               "Executing, cancelling and retrying tasks; their executions and output")


class TaskRunPath(Path):
    task_id: uuid.UUID


class ExecutionPath(Path):
    execution_id: uuid.UUID


class TaskExecuteBody(ExecuteBody):
    """The body of POST /api/tasks/{id}/execute."""


class QueuedData(BaseModel):
    task_id: str
    execution_id: str
    status: str
    run_number: int  # among the task's runs, in creation order, retries included
    queue_position: int | None
    estimated_start_time: str | None


class RetryData(QueuedData):
    retry_attempt: int


class TaskCancelData(BaseModel):
    task_id: str
    status: str
    cancelled_at: str | None
    reason: str | None


class ClaudeResult(BaseModel):
    """A Claude run's result fields (null before its result line) and its conversation."""

    session_id: str | None = Field(description="The Claude session (what a follow-up resumes)")
    cost_usd: float | None = Field(description="total_cost_usd of the last result")
    num_turns: int | None
    duration_ms: int | None
    duration_api_ms: int | None
    result: str | None
    usage: dict[str, Any] | None = Field(description="Tokens, summed over the run's turns")
    model_usage: dict[str, Any] | None = Field(description="The result's modelUsage")
    permission_denials: list[Any] | None = Field(description="Tool uses Claude was denied")
    subtype: str | None = Field(description="success, error_max_turns, error_max_budget_usd, "
                                            "error_during_execution, ...")
    prompt: str | None = Field(description="What this run asked Claude")
    resume_session_id: str | None = Field(description="The session a follow-up resumed")
    follow_up_of: str | None = Field(description="The run a follow-up continues")


class ExecutionData(BaseModel):
    id: str
    task_id: str
    status: str
    queue: str
    run_number: int  # among the task's runs, in creation order, retries included
    attempt: int
    exit_code: int | None
    error: dict[str, Any] | None
    warning: str | None = Field(None, description="A completed run's warning (tools denied)")
    run_directory: str | None = Field(None, description="Where the process ran")
    claude: ClaudeResult | None = None
    output: list[dict[str, Any]] | None = None


class FollowUpBody(ExecuteBody):
    """The body of POST /api/tasks/{id}/follow-up: the message, then how to run it."""

    message: str = Field(..., min_length=1, max_length=conversation.MESSAGE_MAX,
                         json_schema_extra={"pattern": NON_BLANK},
                         description="What to tell Claude next (its prompt)")


class FollowUpData(QueuedData):
    resume_session_id: str = Field(description="The Claude session it resumes")
    follow_up_of: str = Field(description="The run whose session it resumes")


class MessageBody(Body):
    message: str = Field(..., min_length=1, max_length=conversation.MESSAGE_MAX,
                         json_schema_extra={"pattern": NON_BLANK})


class InterruptBody(Body):
    """Optional: without a message the run ends (cancelled, "interrupted")."""

    message: str | None = Field(None, min_length=1, max_length=conversation.MESSAGE_MAX,
                                json_schema_extra={"pattern": NON_BLANK},
                                description="Claude's next instruction after the interrupt")

    @model_validator(mode="before")
    @classmethod
    def _empty(cls, data: Any) -> Any:
        return {} if data is None else data


class SentData(BaseModel):
    execution_id: str
    message_id: str
    status: str


class InterruptData(BaseModel):
    execution_id: str
    status: str
    message: str | None


class ApprovalData(BaseModel):
    id: str
    execution_id: str
    task_id: str
    project_id: str
    request_id: str
    tool_name: str
    tool_input: Any = None
    tool_use_id: str | None
    status: Literal["pending", "allowed", "denied", "expired", "cancelled"]
    message: str | None
    requested_at: str
    expires_at: str
    decided_at: str | None
    decided_by: str | None
    decided_by_name: str | None


class ApprovalList(BaseModel):
    items: list[ApprovalData]


class ApprovalPath(Path):
    approval_id: uuid.UUID


class DecisionBody(Body):
    decision: Literal["allow", "deny"]
    message: str | None = Field(None, max_length=approvals.MESSAGE_MAX,
                                json_schema_extra={"pattern": NO_NUL},
                                description="Told to Claude with a denial")


def _body(body: Any) -> dict[str, Any]:
    return body.model_dump(exclude_none=True) if body is not None else {}


@endpoint(bp, "post", "/tasks/<uuid:task_id>/execute", auth="execute", summary="Execute task",
          data=QueuedData, errors=[403, 404, 409, 503])
def execute_task(path: TaskRunPath, body: TaskExecuteBody):
    """Queue the task on a worker; answers at once with its place in the queue."""
    return envelope(executions.execute(path.task_id, current_user(), body.priority,
                                       body.options_dict()))


@maintenance_exempt
@endpoint(bp, "post", "/tasks/<uuid:task_id>/cancel", auth="execute", summary="Cancel task",
          data=TaskCancelData, errors=[403, 404, 409])
def cancel_task(path: TaskRunPath, body: CancelBody):
    """Queued: taken out of the queue. Running: SIGTERM to its process group, then SIGKILL."""
    reason = body.reason
    return envelope(executions.cancel(path.task_id, current_user(), reason))


@endpoint(bp, "post", "/tasks/<uuid:task_id>/retry", auth="execute", summary="Retry failed task",
          data=RetryData, errors=[403, 404, 409, 503])
def retry_task(path: TaskRunPath):
    """A new execution of a failed or cancelled task (retry_attempt = its attempt number)."""
    return envelope(executions.retry(path.task_id, current_user()))


@endpoint(bp, "get", "/tasks/<uuid:task_id>/executions", auth="read",
          summary="List task executions", data=PageOf[ExecutionData], errors=[403, 404])
def list_executions(path: TaskRunPath, query: PageQuery):
    """One execution per run or retry, newest first."""
    return envelope(executions.list_for_task(path.task_id, current_user(), query.page,
                                             query.page_size, query.order))


@endpoint(bp, "get", "/executions/<uuid:execution_id>", auth="read", summary="Get execution",
          data=ExecutionData, errors=[403, 404])
def get_execution(path: ExecutionPath, query: OutputQuery):
    """Status, timings, exit code, error, Claude result fields and output (`after_seq`)."""
    return envelope(executions.get(path.execution_id, current_user(), query.after_seq,
                                   query.limit))


# ---- the conversation ------------------------------------------------------------------------

@endpoint(bp, "post", "/tasks/<uuid:task_id>/follow-up", auth="execute",
          summary="Follow up a Claude task", data=FollowUpData, errors=[403, 404, 409, 503])
def follow_up_task(path: TaskRunPath, body: FollowUpBody):
    """A new run that resumes the task's last Claude session with `message` as its prompt
    (409 CLAUDE_NO_SESSION when there is none); every check of execute applies."""
    return envelope(conversation.follow_up(path.task_id, current_user(), body.message,
                                           body.priority, body.options_dict()))


@endpoint(bp, "post", "/executions/<uuid:execution_id>/messages", auth="execute",
          summary="Send a message to a running Claude run", data=SentData, status=202,
          errors=[403, 404, 409, 503])
def send_message(path: ExecutionPath, body: MessageBody):
    """Written to the CLI's stdin as the next user message (409 when the run is not
    running)."""
    return envelope(conversation.send_message(path.execution_id, current_user(),
                                              body.message), status=202)


@maintenance_exempt
@endpoint(bp, "post", "/executions/<uuid:execution_id>/interrupt", auth="execute",
          summary="Interrupt a running Claude run", data=InterruptData, status=202,
          errors=[403, 404, 409, 503])
def interrupt_run(path: ExecutionPath, body: InterruptBody):
    """Stops the current turn; with `message` Claude goes on with it, else the run ends
    cancelled ("interrupted") and can be followed up."""
    return envelope(conversation.interrupt(path.execution_id, current_user(), body.message),
                    status=202)


@endpoint(bp, "get", "/executions/<uuid:execution_id>/approvals", auth="read",
          summary="List a run's permission requests", data=ApprovalList, errors=[403, 404])
def list_approvals(path: ExecutionPath):
    """The CLI's permission requests of this run, oldest first, with their decisions."""
    return envelope({"items": approvals.for_execution(path.execution_id, current_user())})


@maintenance_exempt
@endpoint(bp, "post", "/approvals/<uuid:approval_id>/decision", auth="execute",
          summary="Allow or deny a permission request", data=ApprovalData,
          errors=[403, 404, 409, 503])
def decide_approval(path: ApprovalPath, body: DecisionBody):
    """Answers the waiting CLI (a denial's message is told to Claude); 409 when it was
    already answered, timed out or its run ended."""
    return envelope(approvals.decide(path.approval_id, current_user(), body.decision,
                                     body.message))
