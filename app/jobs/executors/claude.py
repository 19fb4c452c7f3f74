"""The `claude` executor: the Claude Code CLI in headless stream-json mode (CONTRACT §3).

`$CLAUDE_CLI_PATH -p --output-format=stream-json --verbose --input-format=stream-json
--permission-prompt-tool=stdio [--resume=<session id>] [flags] --`: the flags from the agent
settings (app.services.agent_settings), every one in `--name=value` form, then `--`; the prompt
is never an argument: it is the first message on stdin, which the worker holds for the whole run
(app.jobs.executors.claude_session: messages, interrupts, answers to permission requests).

Each stdout line that is a JSON event becomes one output line per content block with `kind`
text | tool_use | tool_result | result | system | permission and the structured event in
`data`; anything else (a Node warning, stderr) is kept as a plain line. The results' cost,
usage, modelUsage, turns, durations, permission denials, subtype and the session id are
recorded on the execution (a run with several turns: the last result's running totals of cost
and modelUsage, the sum of turns, durations and usage, every denial once).

The outcome (`ClaudeStream.outcome`): no `result` line, `is_error: true`, or a subtype other
than `success` fails the run with a message saying what happened (the turn limit, the budget
limit, an error during execution, the CLI's own error); a resume whose transcript the CLI does
not find fails with CLAUDE_SESSION_NOT_FOUND; a run the user interrupted (and gave no next
message) is cancelled; exit 0 with permission denials completes with a warning naming them.
"""

from __future__ import annotations

import json
from typing import Any

from app.jobs.executors.claude_session import ClaudeSession
from app.jobs.executors.shell import stopped
from app.jobs.output import OutputWriter
from app.jobs.runner import RunEnd
from app.services import agent_settings
from app.services.conversation import prompt_of  # noqa: F401 - the executor's prompt rule
from app.services.execution_lifecycle import Outcome

NO_SESSION = "No conversation found with session ID"


def argv(cli: str, options: Any, resume: str | None = None) -> list[str]:
    """`-p` (print mode), stream-json both ways, permission requests on stdio, the session to
    resume, the settings' flags, all in `--name=value` form, then `--` and no positional
    argument: the prompt goes on stdin, so nothing it holds can be read as an option."""
    return [cli, "-p", "--output-format=stream-json", "--verbose",
            "--input-format=stream-json", "--permission-prompt-tool=stdio",
            *([f"--resume={resume}"] if resume else []),
            *agent_settings.cli_args(options), "--"]


def _block_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
    return "" if content is None else json.dumps(content)


class ClaudeStream:
    """Parses stdout lines into output events and remembers what the execution records."""

    def __init__(self, writer: OutputWriter, session: ClaudeSession | None = None) -> None:
        self.writer = writer
        self.session = session
        self.result: dict[str, Any] | None = None
        self.results: list[dict[str, Any]] = []
        self.session_id: str | None = None
        self.last_text: str | None = None
        self.interrupted = False  # the last result ended a turn the user interrupted

    def feed(self, stream: str, raw: bytes) -> None:
        text = raw.decode("utf-8", "replace")
        event = None
        if stream == "stdout" and text.lstrip().startswith("{"):
            try:
                event = json.loads(text)
            except ValueError:
                event = None
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            self.writer.add(stream, text, len(raw))
            return
        size = len(raw)
        for kind, content, data in self.translate(event):
            self.writer.add("stdout", content, size, kind, data)
            size = 0

    def translate(self, event: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
        etype = event["type"]
        self.session_id = event.get("session_id") or self.session_id
        if etype == "system":
            data = {k: event.get(k) for k in ("subtype", "session_id", "model", "cwd", "tools",
                                              "permissionMode", "claude_code_version")
                    if k in event}
            data["type"] = "system"
            return [("system", f"[{event.get('subtype', 'system')}] session "
                     f"{event.get('session_id')} model {event.get('model')}\n", data)]
        if etype in ("assistant", "user"):
            message = event.get("message") or {}
            content = message.get("content")
            if isinstance(content, str):
                content = [{"type": "text", "text": content}]
            out = []
            for block in content or []:
                out.append(self._block(block, etype, message.get("id")))
            return [o for o in out if o is not None]
        if etype == "result":
            return self._result(event)
        if etype == "control_request" and self.session is not None:
            line = self.session.control_request(event)
            return [line] if line else []
        if etype == "control_cancel_request" and self.session is not None:
            self.session.cancelled_request(str(event.get("request_id") or ""))
            return []
        if etype == "control_response":  # the CLI's answer to our interrupt
            ok = (event.get("response") or {}).get("subtype") == "success"
            return [("system", "[interrupt acknowledged]\n" if ok else
                     f"[the CLI refused a control request: {json.dumps(event)[:300]}]\n",
                     {"type": "control_response", "event": event})]
        return [("system", json.dumps(event)[:2000] + "\n", {"type": etype, "event": event})]

    def _result(self, event: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
        self.result = event
        self.results.append(event)
        # An interrupted turn ends without success (a turn that finished anyway did not stop).
        self.interrupted = bool(self.session and self.session.interrupted_by
                                and event.get("subtype") != "success")
        data = {k: event.get(k) for k in ("subtype", "is_error", "duration_ms",
                                          "duration_api_ms", "num_turns", "total_cost_usd",
                                          "session_id", "usage", "terminal_reason", "result",
                                          "modelUsage", "permission_denials", "errors")
                if k in event}
        data["type"] = "result"
        text = event.get("result") if isinstance(event.get("result"), str) else ""
        if self.session is not None:
            self.session.on_result()
        return [("result", (text or f"[{event.get('subtype')}]") + "\n", data)]

    def _block(self, block: Any, role: str, message_id: str | None
               ) -> tuple[str, str, dict[str, Any]] | None:
        if not isinstance(block, dict):
            return None
        btype = block.get("type")
        if btype == "text":
            self.last_text = block.get("text") or self.last_text
            return ("text", (block.get("text") or "") + "\n",
                    {"type": "text", "role": role, "message_id": message_id})
        if btype == "thinking":
            return ("text", (block.get("thinking") or "") + "\n",
                    {"type": "thinking", "role": role, "message_id": message_id})
        if btype == "tool_use":
            payload = json.dumps(block.get("input"), ensure_ascii=False)
            return ("tool_use", f"{block.get('name')} {payload}\n",
                    {"type": "tool_use", "id": block.get("id"), "name": block.get("name"),
                     "input": block.get("input"), "message_id": message_id})
        if btype == "tool_result":
            return ("tool_result", _block_text(block.get("content")) + "\n",
                    {"type": "tool_result", "tool_use_id": block.get("tool_use_id"),
                     "is_error": bool(block.get("is_error"))})
        return ("system", json.dumps(block)[:2000] + "\n", {"type": btype, "block": block})

    def recorded(self) -> dict[str, Any]:
        """Execution fields from the result lines (and the init line's session id)."""
        r = self.result or {}
        fields: dict[str, Any] = {"claude_session_id": r.get("session_id") or self.session_id}
        if self.result is None:
            return fields
        model_usage = r.get("modelUsage")
        fields.update(cost_usd=_num(r.get("total_cost_usd"), float),
                      num_turns=_total(self.results, "num_turns"),
                      duration_ms=_total(self.results, "duration_ms"),
                      duration_api_ms=_total(self.results, "duration_api_ms"),
                      result_text=r.get("result") if isinstance(r.get("result"), str) else None,
                      usage=_usage(self.results),
                      model_usage=model_usage if isinstance(model_usage, dict) else None,
                      permission_denials=_denials(self.results),
                      result_subtype=str(r.get("subtype"))[:64] if r.get("subtype") else None)
        return fields

    def outcome(self, end: RunEnd, last_stderr: str | None) -> Outcome:
        common = stopped(end)
        fields = self.recorded()
        if common is not None:
            common.claude = fields
            return common
        failed = {"status": "failed", "exit_code": end.exit_code,
                  "error_code": "TASK_EXECUTION_FAILED", "claude": fields}
        if self.result is None:
            if last_stderr and NO_SESSION in last_stderr:
                return Outcome(**{**failed, "error_code": "CLAUDE_SESSION_NOT_FOUND"},
                               retryable=False, error_message=f"The Claude CLI could not resume "
                               f"the conversation: {last_stderr} (its transcript is not where "
                               "this run works)")
            why = f"The Claude CLI ended without a result line (exit code {end.exit_code})"
            if last_stderr:
                why += f": {last_stderr}"
            return Outcome(**failed, error_message=why)
        if self.interrupted:
            who = self.session.interrupted_by if self.session else "someone"
            return Outcome(status="cancelled", exit_code=end.exit_code,
                           error_code="TASK_CANCELLED", cancel_reason=f"interrupted by {who}",
                           error_message=f"Interrupted by {who}; Follow up continues the "
                           "conversation", claude=fields, retryable=False)
        subtype = self.result.get("subtype")
        if self.result.get("is_error") or (subtype and subtype != "success"):
            return Outcome(**failed, error_message=failure_message(self.result, self.last_text))
        if end.exit_code != 0:
            return Outcome(**failed, error_message=f"The Claude CLI exited with code "
                           f"{end.exit_code} after its result")
        fields["warning"] = denial_warning(fields.get("permission_denials"))
        return Outcome(status="completed", exit_code=0, claude=fields)


def failure_message(result: dict[str, Any], last_text: str | None) -> str:
    """What a failed result means, per subtype, with the CLI's own words where it gave some."""
    subtype = result.get("subtype")
    text = result.get("result") if isinstance(result.get("result"), str) else ""
    errors = [str(e) for e in result.get("errors") or [] if e] if isinstance(
        result.get("errors"), list) else []
    turns, cost = result.get("num_turns"), _num(result.get("total_cost_usd"), float)
    if subtype == "error_max_turns":
        return (f"Claude stopped at its turn limit (error_max_turns) after {turns} turns; "
                "raise max_turns in the agent settings, or follow up to let it go on")
    if subtype == "error_max_budget_usd":
        spent = f"${cost:.4f}" if cost is not None else "its budget"
        return (f"Claude stopped at its spending limit (error_max_budget_usd) after {spent}; "
                "raise max_budget_usd in the agent settings, or follow up to let it go on")
    if subtype == "error_during_execution":
        detail = "; ".join(errors) or text or last_text or "the CLI gave no detail"
        return f"Claude stopped with an error during execution (error_during_execution): {detail}"
    why = text or "; ".join(errors) or last_text or "the CLI reported an error"
    return f"Claude CLI error ({subtype}): {why}"


def denial_warning(denials: list[dict[str, Any]] | None) -> str | None:
    """A completed run's warning when tools were denied: which, with what input."""
    if not denials:
        return None
    named = []
    for d in denials[:5]:
        tool_input = d.get("tool_input") if isinstance(d, dict) else None
        hint = ""
        if isinstance(tool_input, dict):
            hint = next((str(tool_input[k]) for k in ("command", "file_path", "path", "url")
                         if isinstance(tool_input.get(k), str)), "")
        name = d.get("tool_name") if isinstance(d, dict) else None
        named.append(f"{name or 'a tool'}" + (f" ({hint[:80]})" if hint else ""))
    more = f" and {len(denials) - 5} more" if len(denials) > 5 else ""
    return (f"Completed, but Claude was denied {len(denials)} tool use"
            f"{'s' if len(denials) != 1 else ''}: {', '.join(named)}{more}")


def _total(results: list[dict[str, Any]], name: str) -> int | None:
    values = [_num(r.get(name), int) for r in results]
    values = [v for v in values if v is not None]
    return sum(values) if values else None


def _usage(results: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The turns' token usage added up (numbers summed; anything else from the last)."""
    found = [r["usage"] for r in results if isinstance(r.get("usage"), dict)]
    if len(found) <= 1:
        return found[0] if found else None
    total: dict[str, Any] = {}
    for usage in found:
        for key, value in usage.items():
            if isinstance(value, int | float) and not isinstance(value, bool) and \
                    isinstance(total.get(key, 0), int | float):
                total[key] = total.get(key, 0) + value
            else:
                total[key] = value
    return total


def _denials(results: list[dict[str, Any]]) -> list[Any]:
    """Every permission denial of the run once (by tool_use_id)."""
    seen, out = set(), []
    for r in results:
        for d in r.get("permission_denials") or [] if isinstance(
                r.get("permission_denials"), list) else []:
            key = d.get("tool_use_id") if isinstance(d, dict) else None
            if key is not None and key in seen:
                continue
            seen.add(key)
            out.append(d)
    return out


def _num(value: Any, kind: type) -> Any:
    try:
        return kind(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None
