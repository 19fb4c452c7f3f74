# GENERATED from _async/commands.py by scripts/unasync.py: edit that file, then re-run.
# ruff: noqa
"""`client.commands` (api-reference "Commands", CONTRACT §4)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from claude_cli_sdk._sync import _compat
from claude_cli_sdk._sync.http import Transport
from claude_cli_sdk._base import body, operation, path_id, query
from claude_cli_sdk._records import NOT_GIVEN
from claude_cli_sdk.models import (
    CommandCancelData,
    CommandHistoryData,
    CommandRow,
    RunningData,
    StartedData,
    StatusData,
    SuggestionsData,
    ValidateData,
)


class Commands:
    """Command lines run on a worker: execute, status and output, cancel, history, checks."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    @operation("POST", "/api/commands/execute")
    def execute(self, command: str, *, working_directory: str | None = NOT_GIVEN,
                      timeout: int | None = NOT_GIVEN,
                      environment: Mapping[str, str] | None = NOT_GIVEN,
                      stream_output: bool = NOT_GIVEN, project_id: Any = NOT_GIVEN,
                      session_id: Any = NOT_GIVEN, force: bool = NOT_GIVEN) -> StartedData:
        """Run `command` (in the project's workspace, or your scratch directory without one);
        `command_id` names it (`client.stream(command_id=...)` follows its output)."""
        return StartedData(self._t.request("POST", "/commands/execute", json=body(
            command=command, working_directory=working_directory, timeout=timeout,
            environment=environment, stream_output=stream_output, project_id=project_id,
            session_id=session_id, force=force)))

    @operation("GET", "/api/commands/{command_id}/status")
    def status(self, command_id: Any, *, after_seq: int | None = None,
                     limit: int | None = None) -> StatusData:
        """Status, exit code and the output lines after `after_seq`."""
        return StatusData(self._t.request(
            "GET", f"/commands/{path_id(command_id)}/status",
            params=query(after_seq=after_seq, limit=limit)))

    @operation("POST", "/api/commands/{command_id}/cancel")
    def cancel(self, command_id: Any, reason: str | None = None) -> CommandCancelData:
        """SIGTERM to the command's process group, SIGKILL after a grace period."""
        return CommandCancelData(self._t.request(
            "POST", f"/commands/{path_id(command_id)}/cancel", json=body(reason=reason)))

    @operation("GET", "/api/commands/running")
    def running(self) -> RunningData:
        """Your commands that are queued or running."""
        return RunningData(self._t.request("GET", "/commands/running"))

    @operation("GET", "/api/commands/history")
    def history(self, *, limit: int | None = None,
                      offset: int | None = None) -> CommandHistoryData:
        """Your past commands, newest first (`limit`/`offset`)."""
        return CommandHistoryData(self._t.request(
            "GET", "/commands/history", params=query(limit=limit, offset=offset)))

    def iter_history(self, *, limit: int = 100) -> Iterator[CommandRow]:
        """Every past command, newest first."""

        def batch(offset: int) -> list[CommandRow]:
            return (self.history(limit=limit, offset=offset)).commands

        for item in _compat.offsets(batch, limit):
            yield item

    @operation("GET", "/api/commands/suggestions")
    def suggestions(self, *, context: str | None = None, prefix: str | None = None,
                          limit: int | None = None) -> SuggestionsData:
        """Ranked completions from the built-in catalogue and your own history."""
        return SuggestionsData(self._t.request(
            "GET", "/commands/suggestions",
            params=query(context=context, prefix=prefix, limit=limit)))

    @operation("POST", "/api/commands/validate")
    def validate(self, command: str, *, check_safety: bool = NOT_GIVEN) -> ValidateData:
        """Parse the command line: `valid`, `safe`, `warnings`, `suggestions`."""
        return ValidateData(self._t.request("POST", "/commands/validate", json=body(
            command=command, check_safety=check_safety)))
