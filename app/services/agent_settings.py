"""How a Claude run is configured: the CLI flags that come from settings, never from the prompt.

A project's `settings.agent` says how its Claude runs go; a task's `metadata.claude` overrides
it field by field (a field the task leaves out or sets to null keeps the project's value):
`model`, `permission_mode`, `allowed_tools`, `disallowed_tools`, `mcp_config` (an object
`{"mcpServers": {name: server}}`), `strict_mcp_config`, `append_system_prompt`, `max_turns`,
`max_budget_usd`. One pydantic model (`AgentSettings`) checks both, for the API (where it is
also the OpenAPI document's schema), the pages and the worker, so they can never disagree.

Every flag is written in its `--name=value` form, so a value that starts with a dash can never
be read as another option, and the argument list ends with `--`. The MCP config goes to the
CLI as a file (`--mcp-config=<path>`) that the worker writes for the run (`for_run`) into a
directory only the worker can write, readable by the run's account alone, and removes when
the run ends (`remove_run_files`).
"""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from app.errors import ValidationFailed

log = logging.getLogger(__name__)

PERMISSION_MODES = ("default", "acceptEdits", "bypassPermissions", "plan", "dontAsk", "auto")
FIELDS = ("model", "permission_mode", "allowed_tools", "disallowed_tools", "mcp_config",
          "strict_mcp_config", "append_system_prompt", "max_turns", "max_budget_usd")
# What the worker adds for the run (never accepted from users: the model forbids it).
RUN_FILE_KEY = "mcp_config_file"
RUN_DIR = ".run-config"  # under WORKSPACE_ROOT, written only by the worker
STALE_SECONDS = 86400

MODEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@/\[\]-]{0,99}$"
# A tool or a permission rule: `Read`, `mcp__github__create_issue`, `Bash(git log:*)`,
# `WebFetch(domain:example.com)`. No commas (the CLI gets them comma-separated) and no nested
# parentheses.
TOOL_PATTERN = r"^[A-Za-z_*][A-Za-z0-9_.*-]{0,127}(?:\([^\x00-\x1f(),]{1,200}\))?$"
SERVER_NAME = r"^[A-Za-z0-9_-]{1,64}$"
NO_NUL = r"^[^\x00]*$"
HEADER_NAME = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
URL_PATTERN = r"^https?://[^\s\x00]+$"


def _json_integer(value: Any) -> Any:
    """A JSON Schema integer (5 or 5.0), never a bool or a string."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _env_names(env: dict[str, str]) -> dict[str, str]:
    """MCP servers' variables follow the runs' rule (app.services.environment): nothing that
    changes how a program or its interpreter starts."""
    from app.services.environment import LOADER_PREFIXES, LOADER_VARIABLES

    for name in env:
        if name.upper() in LOADER_VARIABLES or name.upper().startswith(LOADER_PREFIXES):
            raise ValueError(f"variable {name} changes how programs start and cannot be set")
    return env


Text = Annotated[str, Field(max_length=4000, pattern=NO_NUL)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class McpServer(_Strict):
    """One MCP server: one the CLI starts as a process (`stdio`, the default: `command`,
    `args`, `env`; it runs as the run's account, in the run's directory) or one it reaches over
    HTTP (`http` or `sse`: `url`, `headers`)."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"anyOf": [
        {"properties": {"type": {"const": "stdio"}}, "required": ["command"],
         "not": {"anyOf": [{"required": ["url"]}, {"required": ["headers"]}]}},
        {"properties": {"type": {"enum": ["http", "sse"]}}, "required": ["type", "url"],
         "not": {"anyOf": [{"required": ["command"]}, {"required": ["args"]},
                           {"required": ["env"]}]}}]})

    type: Literal["stdio", "http", "sse"] = "stdio"
    command: str = Field(None, min_length=1, max_length=1000, pattern=NO_NUL,
                         description="stdio: the program")
    args: list[Text] = Field(None, max_length=100, description="stdio: its arguments")
    env: dict[Annotated[str, Field(pattern=ENV_NAME)], Text] = Field(
        None, max_length=100, description="stdio: its variables; loader variables (LD_*, "
                                          "NODE_OPTIONS, ...) are refused as for runs")
    url: str = Field(None, max_length=2000, pattern=URL_PATTERN, description="http/sse")
    headers: dict[Annotated[str, Field(pattern=HEADER_NAME)], Text] = Field(
        None, max_length=50, description="http/sse: request headers")

    @field_validator("env")
    @classmethod
    def _loader_names(cls, env: dict[str, str]) -> dict[str, str]:
        return _env_names(env)

    @model_validator(mode="after")
    def _shape(self) -> McpServer:
        given = {k for k in ("command", "args", "env", "url", "headers")
                 if getattr(self, k) is not None}
        if self.type == "stdio":
            if "command" not in given:
                raise ValueError("a stdio server needs command")
            if given & {"url", "headers"}:
                raise ValueError("url and headers are for http and sse servers")
        else:
            if "url" not in given:
                raise ValueError(f"an {self.type} server needs url")
            if given & {"command", "args", "env"}:
                raise ValueError("command, args and env are for stdio servers")
        return self


class McpConfig(_Strict):
    """What `--mcp-config` reads: `{"mcpServers": {name: server}}`."""

    mcpServers: dict[Annotated[str, Field(pattern=SERVER_NAME)], McpServer] = Field(
        ..., max_length=20)


class AgentSettings(_Strict):
    """How Claude runs: a project's `settings.agent`, a task's `metadata.claude` (overrides
    field by field). Every field is optional; null means "not set"."""

    model: str | None = Field(None, pattern=MODEL_PATTERN, examples=["sonnet"],
                              description="--model (an alias such as sonnet or a full name)")
    permission_mode: Literal[PERMISSION_MODES] | None = Field(  # type: ignore[valid-type]
        None, description="--permission-mode")
    allowed_tools: list[Annotated[str, Field(pattern=TOOL_PATTERN)]] | None = Field(
        None, max_length=100, examples=[["Read", "Bash(git log:*)"]],
        description="--allowedTools: tools or rules allowed without asking")
    disallowed_tools: list[Annotated[str, Field(pattern=TOOL_PATTERN)]] | None = Field(
        None, max_length=100, examples=[["WebFetch"]], description="--disallowedTools")
    mcp_config: McpConfig | None = Field(None, description="--mcp-config (written to a file "
                                                           "for each run)")
    strict_mcp_config: bool | None = Field(None, description="--strict-mcp-config: only the "
                                                             "servers of mcp_config")
    append_system_prompt: str | None = Field(None, min_length=1, max_length=10_000,
                                             pattern=NO_NUL,
                                             description="--append-system-prompt")
    max_turns: Annotated[int, Field(ge=1, le=1000), BeforeValidator(_json_integer)] | None = (
        Field(None, description="--max-turns"))
    max_budget_usd: float | None = Field(None, gt=0, le=10_000,
                                         description="--max-budget-usd: the CLI stops a run "
                                                     "that would spend more")


# ---------------------------------------------------------------- validation

_CODES = {"missing": "VALIDATION_REQUIRED_FIELD", "string_too_long": "VALIDATION_VALUE_TOO_LONG",
          "too_long": "VALIDATION_VALUE_TOO_LONG", "string_too_short":
          "VALIDATION_VALUE_TOO_SHORT", "string_pattern_mismatch": "VALIDATION_INVALID_FORMAT"}


def _issues(exc: ValidationError, field: str) -> list[dict[str, str]]:
    found = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = [str(p) for p in error.get("loc", ()) if p != "[key]"]
        issue = (error.get("msg") or "invalid").removeprefix("Value error, ")
        if error.get("type") == "extra_forbidden":
            issue = "Unknown field"
        elif error.get("type") == "string_pattern_mismatch":
            issue = _pattern_issue(next((p for p in reversed(loc) if not p.isdigit()), ""))
        found.append({"field": ".".join([field, *loc]), "issue": issue,
                      "code": _CODES.get(error.get("type", ""), "VALIDATION_ERROR")})
    return found


def _pattern_issue(name: str) -> str:
    return {"model": "a model name such as sonnet or claude-sonnet-4-5 (letters, digits, . _ - "
                     ": @ / [ ])",
            "allowed_tools": "tool names or rules such as Read or Bash(git log:*), no commas",
            "disallowed_tools": "tool names or rules such as Read or Bash(git log:*), no commas",
            "url": "an http:// or https:// URL"}.get(name, "has an invalid format")


def validate(options: Any, field: str = "metadata.claude") -> dict[str, Any]:
    """A clean copy of agent settings (only the fields set), or a 422 naming the bad field,
    with every bad field in `details.errors` (forms show them all at once)."""
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise ValidationFailed(field, "must be an object")
    options = dict(options)
    if "allowedTools" in options and "allowed_tools" not in options:  # older task metadata
        options["allowed_tools"] = options.pop("allowedTools")
    if isinstance(options.get("allowed_tools"), str):
        options["allowed_tools"] = split_tools(options["allowed_tools"])
    try:
        model = AgentSettings.model_validate(options)
    except ValidationError as exc:
        issues = _issues(exc, field)
        first = issues[0]
        raise ValidationFailed(first["field"], first["issue"], code=first["code"],
                               errors=issues) from None
    return model.model_dump(mode="json", exclude_none=True)


def split_tools(text: str) -> list[str]:
    """Tools typed as text: one per line or comma-separated; commas and line breaks inside
    parentheses do not split (`Bash(git log:*)` stays one rule)."""
    tools, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        if char in ",\n\r" and depth == 0:
            tools.append("".join(current))
            current = []
        else:
            current.append(char)
    tools.append("".join(current))
    return [t.strip() for t in tools if t.strip()]


def effective(project_settings: Any, task_meta: Any) -> dict[str, Any]:
    """The settings a run uses: the project's `settings.agent`, then the task's
    `metadata.claude` field by field (null or absent: the project's value)."""
    base = (project_settings or {}).get("agent") if isinstance(project_settings, dict) else None
    over = (task_meta or {}).get("claude") if isinstance(task_meta, dict) else None
    merged = validate(base, "settings.agent")
    merged.update(validate(over, "metadata.claude"))
    return merged


# ---------------------------------------------------------------- the command line

def _usd(value: float) -> str:
    """A dollar amount as plain decimal text (never 1e-05)."""
    text = format(Decimal(str(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def cli_args(options: Any) -> list[str]:
    """The CLI flags of validated settings, each as one `--name=value` argument. An MCP config
    needs the file the worker wrote for the run (`for_run`): without it, a ValueError."""
    options = dict(options or {})
    mcp_file = options.pop(RUN_FILE_KEY, None)
    clean = validate(options)
    args: list[str] = []
    if "model" in clean:
        args.append(f"--model={clean['model']}")
    if "max_turns" in clean:
        args.append(f"--max-turns={clean['max_turns']}")
    if "permission_mode" in clean:
        args.append(f"--permission-mode={clean['permission_mode']}")
    if clean.get("allowed_tools"):
        args.append(f"--allowedTools={','.join(clean['allowed_tools'])}")
    if clean.get("disallowed_tools"):
        args.append(f"--disallowedTools={','.join(clean['disallowed_tools'])}")
    if "mcp_config" in clean:
        if not mcp_file:
            raise ValueError("the MCP config was not written for this run")
        args.append(f"--mcp-config={mcp_file}")
    if clean.get("strict_mcp_config"):
        args.append("--strict-mcp-config")
    if "append_system_prompt" in clean:
        args.append(f"--append-system-prompt={clean['append_system_prompt']}")
    if "max_budget_usd" in clean:
        args.append(f"--max-budget-usd={_usd(clean['max_budget_usd'])}")
    return args


# ---------------------------------------------------------------- files of a run

def _run_dir() -> Path:
    from app.services import workspace

    return Path(workspace.root()) / RUN_DIR


def run_file(execution_id: uuid.UUID | str) -> Path:
    return _run_dir() / f"{execution_id}-mcp.json"


def for_run(settings: dict[str, Any], execution_id: uuid.UUID | str,
            identity: Any = None) -> dict[str, Any]:
    """The settings with their MCP config written to the run's file (RUN_FILE_KEY) when there
    is one. The directory belongs to the worker (0711: a run can open a file it knows the name
    of, never list or change the directory); the file is created fresh (no symlink followed)
    and belongs to the run's account (`identity`, app.services.run_identity) with mode 0600,
    so no other project's run can read the secrets an MCP config may hold."""
    if "mcp_config" not in settings:
        return settings
    import json

    directory = _run_dir()
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o711 if identity is not None else 0o700)
    _remove_stale(directory)
    path = run_file(execution_id)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        if identity is not None:
            os.fchown(fd, identity.uid, identity.gid)
        os.write(fd, json.dumps(settings["mcp_config"]).encode())
    finally:
        os.close(fd)
    return {**settings, RUN_FILE_KEY: str(path)}


def remove_run_files(execution_id: uuid.UUID | str) -> None:
    """Remove what `for_run` wrote (nothing to do when it wrote nothing)."""
    try:
        run_file(execution_id).unlink(missing_ok=True)
    except OSError:
        log.warning("could not remove the MCP config of execution %s", execution_id)


def _remove_stale(directory: Path) -> None:
    """Files of runs whose worker died before removing them."""
    cutoff = time.time() - STALE_SECONDS
    try:
        for entry in os.scandir(directory):
            if re.fullmatch(r"[0-9a-f-]{36}-mcp\.json", entry.name) and \
                    entry.stat(follow_symlinks=False).st_mtime < cutoff:
                os.unlink(entry.path)
    except OSError:
        log.warning("could not clean %s", directory)
