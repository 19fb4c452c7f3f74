"""What the output viewer shows, shared by its pages and by the pages socket (no routes here).

`run_view` is one run (a task execution or a command) as the viewer's header and toolbar need
it, after the same access check as the sockets and the REST API (`realtime.streams.check_access`).
`line_view` prepares one stored or live line for `partials/output/_lines.html`: plain lines are
cut into ANSI segments (app.pages.ansi: class names from fixed tables, text escaped by the
template), Claude events keep their structure (assistant text, tool calls with their input,
tool results, the final result with cost, turns and duration).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import current_app

from app.extensions import db
from app.models.command import CommandRun
from app.models.execution import TaskExecution
from app.models.project import Project
from app.models.task import Task
from app.models.user import User
from app.pages.ansi import segments, strip
from app.realtime.streams import FINAL, check_access
from app.services import commands, executions
from app.services.output_pages import TAIL, before
from app.services.tasks import task_dict

OWNERS = ("execution", "command")
LIVE = ("queued", "running")


def run_view(owner_type: str, owner_id: uuid.UUID, user: User) -> dict[str, Any]:
    """The run's public fields plus what the page shows around them; raises the REST errors."""
    check_access(owner_type, owner_id, user)
    if owner_type == "command":
        cmd = db.session.get(CommandRun, owner_id)
        run = commands.serialize(cmd)
        project = db.session.get(Project, cmd.project_id) if cmd.project_id else None
        run.update(id=str(cmd.id), title=cmd.command, task=None,
                   can_cancel=cmd.status in LIVE and user.has_permission("execute"),
                   can_rerun=user.has_permission("execute") and cmd.user_id == user.id)
    else:
        ex = db.session.get(TaskExecution, owner_id)
        task = db.session.get(Task, ex.task_id)
        project = db.session.get(Project, ex.project_id)
        run = executions.serialize(ex)
        run.update(title=task.title, task=task_dict(task), can_cancel=False, can_rerun=False)
        if ex.executor == "claude":  # permission requests, talk, follow up (pages.conversation)
            from app.pages.conversation import claude_run

            run["live_claude"] = claude_run(ex, user, project.status == "archived")
    run.update(owner_type=owner_type, live=run["status"] in LIVE, final=run["status"] in FINAL,
               project={"id": str(project.id), "name": project.name,
                        "archived": project.status == "archived"} if project else None,
               download_url=f"/{owner_type}s/{run['id']}/output.txt",
               lines_url=f"/{owner_type}s/{run['id']}/lines")
    return run


def tail(owner_type: str, owner_id: uuid.UUID, before_seq: int | None = None,
         limit: int = TAIL, last_seq: int = 0) -> dict[str, Any]:
    """The last `limit` lines (or those before `before_seq`), prepared for the template;
    `last_seq` is the run's line counter (it bounds the read, see output_pages.before)."""
    page = before(owner_type, owner_id, before_seq, limit, last_seq)
    page["lines"] = [line_view(line) for line in page["lines"]]
    return page


def line_view(line: dict[str, Any]) -> dict[str, Any]:
    """One line for `_lines.html`: seq, stream, kind, and `segs` or the Claude event fields."""
    kind = line.get("kind") or "line"
    data = line.get("data") if isinstance(line.get("data"), dict) else {}
    out: dict[str, Any] = {"seq": line.get("seq"), "stream": line.get("stream") or "stdout",
                           "kind": kind}
    content = line.get("content") or ""
    if kind == "line":
        out["segs"] = segments(content)
    elif kind == "tool_use":
        out.update(name=str(data.get("name") or "tool"), tool_id=_dom_id(data.get("id")),
                   input=_pretty(data.get("input")), brief=_brief(data.get("input")))
    elif kind == "tool_result":
        text = _plain(content)
        out.update(text=text, tool_id=_dom_id(data.get("tool_use_id")),
                   is_error=bool(data.get("is_error")), lines=text.count("\n") + 1)
    elif kind == "result":
        out.update(text=_plain(content), is_error=bool(data.get("is_error")),
                   subtype=data.get("subtype"), cost=data.get("total_cost_usd"),
                   turns=data.get("num_turns"), duration_ms=data.get("duration_ms"),
                   api_ms=data.get("duration_api_ms"))
    else:  # text (assistant or thinking) and system events
        out.update(text=_plain(content), thinking=data.get("type") == "thinking",
                   model=data.get("model"))
    return out


def _plain(text: str) -> str:
    """Multi-line text without escape sequences (Claude text, tool results)."""
    return "\n".join(strip(part) for part in text.rstrip("\n").split("\n"))


def _pretty(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _brief(value: Any) -> str:
    """A one-line hint of a tool call's input (its command, path or pattern)."""
    if isinstance(value, dict):
        for key in ("command", "file_path", "path", "pattern", "url", "description"):
            if isinstance(value.get(key), str):
                return value[key].splitlines()[0][:120] if value[key] else ""
    return ""


def _dom_id(value: Any) -> str | None:
    """A tool id usable in an id attribute (anything else dropped, never trusted as-is)."""
    text = str(value or "")
    return text if text and len(text) <= 100 and text.replace("_", "").replace("-", "")\
        .isalnum() else None


def fragment(template: str, **context: Any) -> str:
    """Render a partial without the page context processors (line lists: pure data, fast)."""
    return current_app.jinja_env.get_template(template).render(**context)
