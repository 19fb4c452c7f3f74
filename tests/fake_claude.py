#!/usr/bin/env python3
"""A stand-in for the Claude Code CLI that writes its real stream-json format (see
../shared/spec/claude-stream-json.md). Only the standard library; exit codes like the real CLI.

Input: with `--input-format=stream-json` the prompt and every later message come on stdin as
`{"type":"user","message":{"role":"user","content":[{"type":"text","text":...}]}}` lines, one
turn (ending with a `result` line) per message, until stdin closes; `control_request` lines
(`interrupt`) and `control_response` lines (answers to its permission requests) come the same
way. Without it the prompt is the positional argument after `--`.

Conversations: every user message and assistant text goes to the session's transcript,
`$CLAUDE_CONFIG_DIR/projects/<cwd with every non-alphanumeric character as "-">/<id>.jsonl`
(`~/.claude` without the variable), like the real CLI. `--resume=<id>` continues that session
from its transcript in the same directory; an unknown one is refused like the real CLI does
("No conversation found with session ID: <id>" on stderr, exit 1).

The scenario of a turn comes from FAKE_CLAUDE_SCENARIO, else from `[scenario:NAME]` in its
message (the first turn defaults to success, later ones to reply):
  success    init, assistant text, tool_use, tool_result, result (cost, turns, session id)
  reply      text "You said: <message>", result
  error      "Not logged in" then a result with subtype success but is_error true; exit 1
  max_turns  result subtype error_max_turns, is_error true; exit 1
  max_budget result subtype error_max_budget_usd, is_error true; exit 1
  exec_error result subtype error_during_execution, is_error false, errors [...]; exit 1
  denied     a Bash call the CLI refused on its own: permission_denials in a success result
  approval   a Bash call that needs permission: with --permission-prompt-tool=stdio a
             control_request can_use_tool, then (after the control_response) the tool's result
             or the denial message; without it, refused like `denied`
  wait       text "Waiting", then the turn waits (at most a minute) until something arrives
             on stdin, and ends
  recall     text holding the session id, the --resume value and the earlier prompts of the
             transcript (JSON), to prove a follow-up continued the conversation
  garbage    a non-JSON line (a Node warning) among the events, then success
  no_result  init and text, then dies without a result line (exit 137)
  slow       init, then one text line per 0.2 s for a minute (interruptible)
  args       success, with argv and cwd in the assistant text (to check the flags), and the
             content of the `--mcp-config=<file>` it was given (read as the run's account)
`[cost:N]` in the prompt (or FAKE_CLAUDE_COST) sets the result's total_cost_usd (default 0.0123)
per turn (the CLI reports the process's running total).
"""

from __future__ import annotations

import json
import os
import queue
import re
import sys
import threading
import time
import uuid

SESSION = [str(uuid.uuid4())]
COST = [0.0123]
STATE = {"turns": 0, "denials": [], "last_error": False, "resumed": None, "earlier": []}
INBOX: queue.Queue = queue.Queue()
EOF = object()
HELD: list = []  # stdin lines read while a turn waited for something else


def leave(code: int) -> None:
    """Exit now: the stdin reader thread may be blocked in a read, which a normal interpreter
    shutdown would wait on (and abort)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------- transcript

def config_dir() -> str:
    return os.environ.get("CLAUDE_CONFIG_DIR") or os.path.join(os.path.expanduser("~"),
                                                              ".claude")


def transcript_path(session_id: str) -> str:
    folder = re.sub(r"[^A-Za-z0-9]", "-", os.getcwd())
    return os.path.join(config_dir(), "projects", folder, f"{session_id}.jsonl")


def remember(kind: str, text: str) -> None:
    path = transcript_path(SESSION[0])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps({"type": kind, "sessionId": SESSION[0], "cwd": os.getcwd(),
                            "message": {"role": kind, "content": text}}) + "\n")


def resume(session_id: str) -> bool:
    path = transcript_path(session_id)
    if not os.path.isfile(path):
        return False
    with open(path) as f:
        STATE["earlier"] = [json.loads(line) for line in f if line.strip()]
    SESSION[0] = session_id
    STATE["resumed"] = session_id
    return True


# ---------------------------------------------------------------- output

def init(argv: list[str]) -> None:
    mode = option(argv, "permission-mode") or "default"
    emit({"type": "system", "subtype": "init", "cwd": os.getcwd(), "session_id": SESSION[0],
          "tools": ["Bash", "Edit", "Read"], "mcp_servers": [], "model": "claude-fake-1",
          "permissionMode": mode, "apiKeySource": "none", "claude_code_version": "2.1.332"})


def text(message: str) -> None:
    remember("assistant", message)
    emit({"type": "assistant", "message": {
        "id": f"msg_{uuid.uuid4().hex[:12]}", "role": "assistant", "model": "claude-fake-1",
        "content": [{"type": "text", "text": message}],
        "usage": {"input_tokens": 12, "output_tokens": 9}},
        "parent_tool_use_id": None, "session_id": SESSION[0]})


def tool_use(command: str) -> str:
    tool_id = f"toolu_{uuid.uuid4().hex[:12]}"
    emit({"type": "assistant", "message": {"content": [
        {"type": "tool_use", "id": tool_id, "name": "Bash",
         "input": {"command": command, "description": "Run it"}}]},
        "parent_tool_use_id": None, "session_id": SESSION[0]})
    return tool_id


def tool_result(tool_id: str, content: str, is_error: bool = False) -> None:
    emit({"type": "user", "message": {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": tool_id, "content": content,
         "is_error": is_error}]}, "parent_tool_use_id": None, "session_id": SESSION[0]})


def tool_round() -> None:
    tool_result(tool_use("ls"), "README.md\nsrc")


def result(final: str, is_error: bool = False, subtype: str = "success", **extra) -> None:
    STATE["last_error"] = is_error or subtype != "success"
    emit({"type": "result", "subtype": subtype, "is_error": is_error, "duration_ms": 2345,
          "duration_api_ms": 2000, "num_turns": 3, "result": final, "session_id": SESSION[0],
          "total_cost_usd": round(COST[0] * STATE["turns"], 6),
          "usage": {"input_tokens": 92, "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0, "output_tokens": 43},
          "modelUsage": {"claude-fake-1": {"inputTokens": 92, "outputTokens": 43,
                                           "costUSD": round(COST[0] * STATE["turns"], 6)}},
          "permission_denials": list(STATE["denials"]), **extra})


# ---------------------------------------------------------------- input

def option(argv: list[str], name: str) -> str | None:
    """`--name=value` (or `--name value`) among the options, None when absent."""
    options = argv[:argv.index("--")] if "--" in argv else argv
    for i, arg in enumerate(options):
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
        if arg == f"--{name}" and i + 1 < len(options):
            return options[i + 1]
    return None


def read_stdin() -> None:
    for raw in sys.stdin.buffer:
        line = raw.decode("utf-8", "replace").strip()
        if not line:
            continue
        try:
            INBOX.put(json.loads(line))
        except ValueError:
            sys.stderr.write(f"Error parsing stream-json input: {line[:80]}\n")
    INBOX.put(EOF)


def message_text(obj: dict) -> str:
    content = (obj.get("message") or {}).get("content")
    if isinstance(content, str):
        return content
    return "\n".join(b.get("text", "") for b in content or [] if isinstance(b, dict))


def next_item():
    """The next line for the main loop: those held during a turn first."""
    return HELD.pop(0) if HELD else INBOX.get()


def arrived(timeout: float):
    """What comes on stdin during a turn within `timeout` seconds, or None."""
    try:
        return INBOX.get(timeout=max(timeout, 0.0))
    except queue.Empty:
        return None


def control_success(request: dict) -> None:
    emit({"type": "control_response", "response": {
        "subtype": "success", "request_id": request.get("request_id"), "response": {}}})


def interrupted(item) -> bool:
    """Whether `item` is an interrupt (answered); anything else is held for later."""
    if isinstance(item, dict) and item.get("type") == "control_request" and \
            (item.get("request") or {}).get("subtype") == "interrupt":
        control_success(item)
        return True
    if item is not None:
        HELD.append(item)
    return False


def end_interrupted() -> None:
    emit({"type": "user", "message": {"role": "user", "content": [
        {"type": "text", "text": "[Request interrupted by user]"}]},
        "parent_tool_use_id": None, "session_id": SESSION[0]})
    result("", subtype="error_during_execution")


# ---------------------------------------------------------------- turns

def ask_permission(argv: list[str], tool_id: str, command: str) -> dict:
    """The CLI's can_use_tool request and the answer that comes back on stdin."""
    request_id = f"req_{uuid.uuid4().hex[:10]}"
    emit({"type": "control_request", "request_id": request_id, "request": {
        "subtype": "can_use_tool", "tool_name": "Bash",
        "input": {"command": command, "description": "Run it"}, "tool_use_id": tool_id,
        "permission_suggestions": []}})
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        item = arrived(deadline - time.monotonic())
        if item is EOF:
            HELD.append(item)
            break
        if isinstance(item, dict) and item.get("type") == "control_response":
            response = item.get("response") or {}
            if response.get("request_id") == request_id:
                return response.get("response") or {}
            continue
        if interrupted(item):
            return {"behavior": "interrupted"}
    return {"behavior": "deny", "message": "no answer"}


def approval_turn(argv: list[str]) -> bool:
    """True when the turn ended by an interrupt (its result is written)."""
    command = "rm -rf build"
    tool_id = tool_use(command)
    if option(argv, "permission-prompt-tool") != "stdio":
        return denied_turn(tool_id, command)
    answer = ask_permission(argv, tool_id, command)
    if answer.get("behavior") == "interrupted":
        end_interrupted()
        return True
    if answer.get("behavior") == "allow":
        ran = (answer.get("updatedInput") or {}).get("command", command)
        tool_result(tool_id, f"ran: {ran}")
        text("The command ran.")
        result("The command ran.")
        return False
    why = answer.get("message") or "denied"
    STATE["denials"].append({"tool_name": "Bash", "tool_use_id": tool_id,
                             "tool_input": {"command": command, "description": "Run it"}})
    tool_result(tool_id, why, is_error=True)
    text(f"I did not run it: {why}")
    result(f"I did not run it: {why}")
    return False


def denied_turn(tool_id: str | None = None, command: str = "rm -rf build") -> bool:
    tool_id = tool_id or tool_use(command)
    STATE["denials"].append({"tool_name": "Bash", "tool_use_id": tool_id,
                             "tool_input": {"command": command, "description": "Run it"}})
    tool_result(tool_id, "Claude requested permissions to use Bash, but you haven't granted "
                "it yet.", is_error=True)
    text("I was not allowed to run it.")
    result("I was not allowed to run it.")
    return False


def slow_turn() -> bool:
    for i in range(300):
        text(f"tick {i}")
        deadline = time.monotonic() + 0.2
        while (left := deadline - time.monotonic()) > 0:
            if interrupted(arrived(left)):
                end_interrupted()
                return True
    result("slow done")
    return False


def wait_turn() -> bool:
    text("Waiting")
    item = arrived(60)
    if interrupted(item):
        end_interrupted()
        return True
    result("done waiting")
    return False


def turn(argv: list[str], prompt: str, first: bool) -> None:
    found = re.search(r"\[scenario:(\w+)\]", prompt)
    scenario = os.environ.get("FAKE_CLAUDE_SCENARIO") or (
        found.group(1) if found else ("success" if first else "reply"))
    cost = re.search(r"\[cost:([0-9.]+)\]", prompt)
    COST[0] = float(os.environ.get("FAKE_CLAUDE_COST") or (cost.group(1) if cost else COST[0]))
    STATE["turns"] += 1
    remember("user", prompt)
    if first:
        init(argv)
    if scenario == "no_result":
        text("Starting, then crashing")
        leave(137)
    simple = {"error": ("Not logged in · Please run /login", True, "success"),
              "max_turns": ("", True, "error_max_turns"),
              "max_budget": ("", True, "error_max_budget_usd"),
              "exec_error": ("", False, "error_during_execution")}
    if scenario in simple:
        final, is_error, subtype = simple[scenario]
        text(final or "Working on it")
        extra = {"terminal_reason": "api_error"} if scenario == "error" else {}
        if scenario == "exec_error":
            extra = {"errors": ["API error: Overloaded"]}
        result(final, is_error=is_error, subtype=subtype, **extra)
        return
    handlers = {"slow": slow_turn, "wait": wait_turn, "denied": denied_turn,
                "approval": lambda: approval_turn(argv)}
    if scenario in handlers:
        handlers[scenario]()
        return
    if scenario == "reply":
        text(f"You said: {prompt}")
        result("Replied.")
        return
    if scenario == "recall":
        earlier = [e["message"]["content"] for e in STATE["earlier"] if e.get("type") == "user"]
        text(json.dumps({"session_id": SESSION[0], "resume": option(argv, "resume"),
                         "resumed": STATE["resumed"], "earlier_prompts": earlier}))
        result("Recalled.")
        return
    if scenario == "garbage":
        sys.stdout.write("(node:123) ExperimentalWarning: this is not JSON\n")
        sys.stdout.flush()
    if scenario == "args":
        text(json.dumps({"argv": argv, "cwd": os.getcwd(), "prompt": prompt,
                         "config_dir": os.environ.get("CLAUDE_CONFIG_DIR"),
                         "mcp_config": mcp_config(argv)}))
    else:
        text("I'll list the files.")
    tool_round()
    result("Listed 2 files.")


def mcp_config(argv: list[str]) -> object:
    """What the `--mcp-config=<file>` given reads as (like the CLI, as this process's user)."""
    path = option(argv, "mcp-config")
    if path is None:
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


def main(argv: list[str]) -> int:
    # Like the real CLI: `-p` is a switch, flags come as `--name=value` (or `--name value`),
    # and everything after `--` is positional (the prompt).
    resumed = option(argv, "resume")
    if resumed is not None and not resume(resumed):
        sys.stderr.write(f"No conversation found with session ID: {resumed}\n")
        return 1
    if option(argv, "input-format") != "stream-json":
        prompt = argv[argv.index("--") + 1] if "--" in argv[:-1] else ""
        turn(argv, prompt, True)
        return 1 if STATE["last_error"] else 0
    threading.Thread(target=read_stdin, daemon=True).start()
    first = True
    while True:
        item = next_item()
        if item is EOF:
            break
        if not isinstance(item, dict):
            continue
        if item.get("type") == "control_request":
            control_success(item)  # an interrupt with no turn running: nothing to stop
            continue
        if item.get("type") != "user":
            continue
        turn(argv, message_text(item), first)
        first = False
    if first:
        sys.stderr.write("Error: Input must be provided either through stdin or as a prompt "
                         "argument when using --print\n")
        return 1
    return 1 if STATE["last_error"] else 0


if __name__ == "__main__":
    leave(main(sys.argv[1:]))
