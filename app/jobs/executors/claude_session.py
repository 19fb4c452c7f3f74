"""The worker's side of a live Claude run: it holds the CLI's stdin (stream-json input).

The prompt is the first `user` message written to stdin. With every check of the run loop
(app.jobs.runner, ten times a second) the session reads the run's inbox in Redis
(app.services.conversation): a message is written to stdin as the next `user` message (and
shown in the output as a `prompt` line); an interrupt becomes a `control_request` `interrupt`;
a decision on a permission request becomes the `control_response` the CLI is waiting for. A
permission request (`control_request` `can_use_tool`) is stored as a pending approval
(app.services.approvals); nobody deciding within APPROVAL_TIMEOUT_SECONDS denies it, saying so.

When stdin is closed: after a `result` line when nothing waits in the inbox (the turn is over
and nobody asked for more), so the CLI finishes and exits. A message written before that is
still read by the CLI (EOF comes after it); a message that arrives after it cannot be delivered
and is said so in the output (send it as a follow-up). Requests still pending when a turn ends
are cancelled.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from app.jobs.output import OutputWriter
from app.services import approvals, audit, conversation
from app.services.conversation import user_line

log = logging.getLogger(__name__)


def control_line(payload: dict[str, Any]) -> bytes:
    return (json.dumps(payload) + "\n").encode()


def interrupt_line() -> bytes:
    return control_line({"type": "control_request", "request_id": f"int_{uuid.uuid4().hex}",
                         "request": {"subtype": "interrupt"}})


def permission_answer(request_id: str, allow: bool, tool_input: Any, message: str | None
                      ) -> bytes:
    """The `control_response` to a `can_use_tool` request."""
    decision: dict[str, Any] = ({"behavior": "allow", "updatedInput": tool_input
                                 if isinstance(tool_input, dict) else {}} if allow else
                                {"behavior": "deny", "message": message or "Denied"})
    return control_line({"type": "control_response", "response": {
        "subtype": "success", "request_id": request_id, "response": decision}})


def refusal(request_id: str, why: str) -> bytes:
    """An error `control_response` (a request the worker cannot serve)."""
    return control_line({"type": "control_response", "response": {
        "subtype": "error", "request_id": request_id, "error": why}})


@dataclass
class Pending:
    approval_id: uuid.UUID
    deadline: float
    tool_input: Any


class ClaudeSession:
    def __init__(self, execution_id: uuid.UUID, task_id: uuid.UUID, project_id: uuid.UUID,
                 writer: OutputWriter, prompt: str) -> None:
        self.execution_id, self.task_id, self.project_id = execution_id, task_id, project_id
        self.writer = writer
        self.prompt = prompt
        self.pipe: Any = None
        self.pending: dict[str, Pending] = {}
        self.interrupted_by: str | None = None  # the last turn was interrupted, by whom
        self.timeout = approvals.timeout_seconds()
        self._inbox_failing = False

    def attach(self, runner: Any) -> None:
        """Hold the runner's stdin (before it starts); the prompt is its first message."""
        self.pipe = runner.enable_input(self.check)
        self.pipe.send(user_line(self.prompt))

    # ---------------------------------------------------------------- the loop's checks

    def check(self, now: float) -> None:
        for item in self._take():
            self._handle(item)
        for request_id, pending in list(self.pending.items()):
            if now >= pending.deadline:
                self._expire(request_id, pending)

    def _take(self) -> list[dict[str, Any]]:
        try:
            items = conversation.take(self.execution_id)
        except Exception as exc:  # noqa: BLE001 - Redis away: the run goes on
            if not self._inbox_failing:
                log.warning("inbox of execution %s cannot be read (%s); the run goes on",
                            self.execution_id, exc)
            self._inbox_failing = True
            return []
        self._inbox_failing = False
        return items

    def _handle(self, item: dict[str, Any]) -> bool:
        """One inbox item; True when it wrote a message to stdin."""
        kind, who = item.get("kind"), str(item.get("by_name") or "someone")
        if kind == "message" and isinstance(item.get("text"), str):
            return self._message(item["text"], who, item.get("id"))
        if kind == "interrupt":
            if self.pipe.send(interrupt_line()):
                self.interrupted_by = who
                self.writer.system(f"[interrupted by {who}]")
            else:
                self.writer.system(f"[an interrupt from {who} came as the run was finishing]")
            return False
        if kind == "approval":
            self._decided(item.get("approval_id"))
        return False

    def _message(self, text: str, who: str, message_id: Any) -> bool:
        if not self.pipe.send(user_line(text)):
            self.writer.system(f"[a message from {who} was not delivered: the run was already "
                               "finishing; send it as a follow-up]")
            self._history("message_not_delivered", {"message_id": message_id})
            return False
        self.interrupted_by = None  # the conversation goes on
        self.writer.add("stdout", text if text.endswith("\n") else text + "\n",
                        len(text.encode()), "prompt",
                        {"type": "prompt", "role": "user", "by": who, "message_id": message_id})
        return True

    # ---------------------------------------------------------------- stdout events

    def permission_request(self, event: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
        """A `can_use_tool` request: stored and shown; answered when someone decides."""
        request_id = str(event.get("request_id") or "")
        request = event.get("request") or {}
        tool, tool_input = str(request.get("tool_name") or "tool"), request.get("input")
        try:
            stored = approvals.request(self.execution_id, self.task_id, self.project_id,
                                       request_id, tool, tool_input,
                                       request.get("tool_use_id"), self.timeout)
        except Exception:
            log.exception("permission request of execution %s not stored", self.execution_id)
            self.pipe.send(permission_answer(request_id, False, tool_input, "The permission "
                                             "request could not be recorded, so it was denied"))
            return ("permission", f"Permission for {tool} could not be recorded: denied\n",
                    {"type": "permission_decision", "status": "denied", "tool_name": tool})
        self.pending[request_id] = Pending(uuid.UUID(stored["id"]),
                                           time.monotonic() + self.timeout, tool_input)
        return ("permission", f"Permission requested: {tool} {_brief(tool_input)}\n",
                {"type": "permission_request", "approval_id": stored["id"], "tool_name": tool,
                 "input": tool_input, "request_id": request_id,
                 "expires_at": stored["expires_at"]})

    def control_request(self, event: dict[str, Any]) -> tuple[str, str, dict[str, Any]] | None:
        request = event.get("request") or {}
        if request.get("subtype") == "can_use_tool":
            return self.permission_request(event)
        self.pipe.send(refusal(str(event.get("request_id") or ""),
                               f"{request.get('subtype')} is not supported here"))
        return None

    def cancelled_request(self, request_id: str) -> None:
        """The CLI withdrew a request (`control_cancel_request`): nothing to answer."""
        self.pending.pop(request_id, None)

    def on_result(self) -> None:
        """A turn ended: requests of that turn are moot; close stdin unless a message waits."""
        if self.pending:
            self._end_pending("The turn ended before anyone answered")
        wrote = False
        for item in self._take():
            wrote = self._handle(item) or wrote
        if not wrote:
            self.pipe.close()

    def finish(self) -> None:
        """The run is over (whatever way): nothing is pending any more."""
        if self.pending:
            self._end_pending("The run ended before anyone answered")

    # ---------------------------------------------------------------- decisions

    def _decided(self, approval_id: Any) -> None:
        try:
            found = approvals.get(uuid.UUID(str(approval_id)))
        except ValueError:
            return
        if found is None or found["status"] == "pending":
            return
        request_id = found["request_id"]
        if request_id in self.pending:
            self._answer(request_id, self.pending.pop(request_id), found)

    def _expire(self, request_id: str, pending: Pending) -> None:
        found = approvals.expire(pending.approval_id, self.timeout)
        self.pending.pop(request_id, None)
        if found is not None and found["status"] in ("allowed", "denied", "expired"):
            self._answer(request_id, pending, found)

    def _answer(self, request_id: str, pending: Pending, found: dict[str, Any]) -> None:
        allow = found["status"] == "allowed"
        self.pipe.send(permission_answer(request_id, allow, pending.tool_input,
                                         found.get("message")))
        who = found.get("decided_by_name") or "nobody (timeout)"
        said = f"Allowed by {who}" if allow else (
            f"Denied by {who}" if found["status"] == "denied" else "Denied: no answer in time")
        if not allow and found.get("message"):
            said += f": {found['message']}"
        self.writer.add("stdout", f"{said}\n", 0, "permission", {
            "type": "permission_decision", "approval_id": found["id"], "status": found["status"],
            "tool_name": found.get("tool_name"), "by": found.get("decided_by_name"),
            "message": found.get("message")})

    def _end_pending(self, why: str) -> None:
        from app.extensions import db

        try:
            approvals.end_pending(self.execution_id, why)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("pending requests of execution %s not closed", self.execution_id)
        self.pending.clear()

    def _history(self, action: str, details: dict[str, Any]) -> None:
        from app.extensions import db

        try:
            audit.record("task", self.task_id, action, user_id=None, project_id=self.project_id,
                         details={"execution_id": str(self.execution_id), **details})
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("history of execution %s not written", self.execution_id)


def _brief(value: Any) -> str:
    """A one-line hint of a tool call's input (its command or path)."""
    if isinstance(value, dict):
        for key in ("command", "file_path", "path", "pattern", "url"):
            if isinstance(value.get(key), str):
                return value[key].splitlines()[0][:200] if value[key] else ""
    return json.dumps(value, ensure_ascii=False)[:200] if value is not None else ""
