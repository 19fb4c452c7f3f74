"""The `claude` executor: the Claude Code CLI in headless stream-json mode (CONTRACT §3).

`$CLAUDE_CLI_PATH -p --output-format=stream-json --verbose [flags] -- <prompt>`, the flags
from the task's `metadata.claude` (app.services.agent_settings). Each
stdout line that is a JSON event becomes one output line per content block with `kind`
text | tool_use | tool_result | result | system and the structured event in `data`; anything
else (a Node warning, stderr) is kept as a plain line. The `result` line's cost, turns,
durations and session id are recorded on the execution. Without a `result` line, or with
`is_error: true` (whatever the subtype), the run failed with the CLI's own message.
"""

from __future__ import annotations

import json
from typing import Any

from app.jobs.executors.shell import stopped
from app.jobs.output import OutputWriter
from app.jobs.runner import RunEnd
from app.services import agent_settings
from app.services.execution_lifecycle import Outcome


def prompt_of(title: str, description: str | None, command: str | None) -> str:
    if command and command.strip():
        return command
    return f"{title}\n\n{description}" if description else title


def argv(cli: str, prompt: str, options: Any) -> list[str]:
    """`-p` (print mode), flags in `--name=value` form, then `--`: the prompt after it is the
    one positional argument and is never read as an option, whatever it starts with."""
    return [cli, "-p", "--output-format=stream-json", "--verbose",
            *agent_settings.cli_args(options), "--", prompt]


def _block_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
    return "" if content is None else json.dumps(content)


class ClaudeStream:
    """Parses stdout lines into output events and remembers what the execution records."""

    def __init__(self, writer: OutputWriter) -> None:
        self.writer = writer
        self.result: dict[str, Any] | None = None
        self.session_id: str | None = None
        self.last_text: str | None = None

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
            self.result = event
            data = {k: event.get(k) for k in ("subtype", "is_error", "duration_ms",
                                              "duration_api_ms", "num_turns", "total_cost_usd",
                                              "session_id", "usage", "terminal_reason", "result")
                    if k in event}
            data["type"] = "result"
            text = event.get("result") if isinstance(event.get("result"), str) else ""
            return [("result", (text or f"[{event.get('subtype')}]") + "\n", data)]
        return [("system", json.dumps(event)[:2000] + "\n", {"type": etype, "event": event})]

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
        """Execution fields from the result line (and the init line's session id)."""
        r = self.result or {}
        usage = r.get("usage") if isinstance(r.get("usage"), dict) else None
        fields: dict[str, Any] = {"claude_session_id": r.get("session_id") or self.session_id}
        if self.result is not None:
            fields.update(cost_usd=_num(r.get("total_cost_usd"), float),
                          num_turns=_num(r.get("num_turns"), int),
                          duration_ms=_num(r.get("duration_ms"), int),
                          duration_api_ms=_num(r.get("duration_api_ms"), int),
                          result_text=r.get("result") if isinstance(r.get("result"), str)
                          else None, usage=usage)
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
            why = f"The Claude CLI ended without a result line (exit code {end.exit_code})"
            if last_stderr:
                why += f": {last_stderr}"
            return Outcome(**failed, error_message=why)
        if self.result.get("is_error"):
            text = self.result.get("result") if isinstance(self.result.get("result"), str) else ""
            why = text or self.last_text or "the CLI reported an error"
            return Outcome(**failed, error_message=f"Claude CLI error "
                           f"({self.result.get('subtype')}): {why}")
        if end.exit_code != 0:
            return Outcome(**failed, error_message=f"The Claude CLI exited with code "
                           f"{end.exit_code} after its result")
        return Outcome(status="completed", exit_code=0, claude=fields)


def _num(value: Any, kind: type) -> Any:
    try:
        return kind(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None
