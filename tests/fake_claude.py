#!/usr/bin/env python3
"""A stand-in for the Claude Code CLI that writes its real stream-json format (see
../shared/spec/claude-stream-json.md). Only the standard library; exit codes like the real CLI.

The scenario comes from FAKE_CLAUDE_SCENARIO, else from `[scenario:NAME]` in the prompt:
  success   init, assistant text, tool_use, tool_result, result (cost, turns, session id)
  error     "Not logged in" then a result with subtype success but is_error true; exit 1
  max_turns result subtype error_max_turns, is_error true; exit 1
  garbage   a non-JSON line (a Node warning) among the events, then success
  no_result init and text, then dies without a result line (exit 137)
  slow      init, then one text line per 0.2 s for a minute (for cancel/timeout tests)
  args      success, with argv and cwd in the assistant text (to check the flags), and the
            content of the `--mcp-config=<file>` it was given (read as the run's account)
`[cost:N]` in the prompt (or FAKE_CLAUDE_COST) sets the result's total_cost_usd (default 0.0123).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import uuid

SESSION = str(uuid.uuid4())
COST = [0.0123]


def emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def init() -> None:
    emit({"type": "system", "subtype": "init", "cwd": os.getcwd(), "session_id": SESSION,
          "tools": ["Bash", "Edit", "Read"], "mcp_servers": [], "model": "claude-fake-1",
          "permissionMode": "default", "apiKeySource": "none", "claude_code_version": "2.1.332"})


def text(message: str) -> None:
    emit({"type": "assistant", "message": {
        "id": f"msg_{uuid.uuid4().hex[:12]}", "role": "assistant", "model": "claude-fake-1",
        "content": [{"type": "text", "text": message}],
        "usage": {"input_tokens": 12, "output_tokens": 9}},
        "parent_tool_use_id": None, "session_id": SESSION})


def tool_round() -> None:
    tool_id = f"toolu_{uuid.uuid4().hex[:12]}"
    emit({"type": "assistant", "message": {"content": [
        {"type": "tool_use", "id": tool_id, "name": "Bash",
         "input": {"command": "ls", "description": "List files"}}]},
        "parent_tool_use_id": None, "session_id": SESSION})
    emit({"type": "user", "message": {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": tool_id, "content": "README.md\nsrc",
         "is_error": False}]}, "parent_tool_use_id": None, "session_id": SESSION})


def result(final: str, is_error: bool = False, subtype: str = "success", **extra) -> None:
    emit({"type": "result", "subtype": subtype, "is_error": is_error, "duration_ms": 2345,
          "duration_api_ms": 2000, "num_turns": 3, "result": final, "session_id": SESSION,
          "total_cost_usd": COST[0], "usage": {"input_tokens": 92, "cache_creation_input_tokens": 0,
                                              "cache_read_input_tokens": 0,
                                              "output_tokens": 43}, **extra})


def mcp_config(argv: list[str]) -> object:
    """What the `--mcp-config=<file>` given reads as (like the CLI, as this process's user)."""
    for arg in argv[:argv.index("--") if "--" in argv else len(argv)]:
        if arg.startswith("--mcp-config="):
            try:
                with open(arg.split("=", 1)[1]) as f:
                    return json.load(f)
            except (OSError, ValueError) as exc:
                return {"error": f"{type(exc).__name__}: {exc}"}
    return None


def main(argv: list[str]) -> int:
    # Like the real CLI: `-p` is a switch, flags come as `--name=value` (or `--name value`),
    # and everything after `--` is positional (the prompt).
    prompt = argv[argv.index("--") + 1] if "--" in argv[:-1] else ""
    found = re.search(r"\[scenario:(\w+)\]", prompt)
    scenario = os.environ.get("FAKE_CLAUDE_SCENARIO") or (found.group(1) if found else "success")
    cost = re.search(r"\[cost:([0-9.]+)\]", prompt)
    COST[0] = float(os.environ.get("FAKE_CLAUDE_COST") or (cost.group(1) if cost else 0.0123))
    if scenario == "error":
        init()
        text("Not logged in · Please run /login")
        result("Not logged in · Please run /login", is_error=True, terminal_reason="api_error")
        return 1
    if scenario == "max_turns":
        init()
        text("Working on it")
        result("", is_error=True, subtype="error_max_turns")
        return 1
    if scenario == "no_result":
        init()
        text("Starting, then crashing")
        return 137
    if scenario == "slow":
        init()
        for i in range(300):
            text(f"tick {i}")
            time.sleep(0.2)
        result("slow done")
        return 0
    init()
    if scenario == "garbage":
        sys.stdout.write("(node:123) ExperimentalWarning: this is not JSON\n")
        sys.stdout.flush()
    if scenario == "args":
        text(json.dumps({"argv": argv, "cwd": os.getcwd(), "mcp_config": mcp_config(argv)}))
    else:
        text("I'll list the files.")
    tool_round()
    result("Listed 2 files.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
