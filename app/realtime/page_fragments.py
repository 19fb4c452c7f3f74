"""HTML fragments the pages socket pushes, rendered from the pages' own partials (never HTML
built here): every root element carries the id the page already uses, so the htmx ws extension
swaps it in place (or as its `hx-swap-oob` says).

What one event needs from the database is read once per event per process (memoized by event
id), however many sockets show it; what differs per viewer (buttons, times in their time zone,
CSRF tokens) is rendered on each socket's own thread, inside its request context. The queue
figures are computed the same way: once per process (hub ticker) for every page showing them.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import render_template
from sqlalchemy import func, select

from app.errors import utcnow
from app.extensions import db
from app.models.audit import AuditLog
from app.models.project import Project
from app.models.task import TASK_STATUSES, Task
from app.pages.output_view import fragment, line_view
from app.services import approvals, queue_stats
from app.services.tasks import task_dict

_MEMO_SIZE = 256
_memo: OrderedDict[tuple[str, str], Any] = OrderedDict()
_memo_lock = threading.Lock()


def memo(event_id: str, what: str, compute: Callable[[], Any]) -> Any:
    """`compute()` once per (event, what) in this process (races only compute it twice)."""
    key = (event_id, what)
    with _memo_lock:
        if key in _memo:
            _memo.move_to_end(key)
            return _memo[key]
    value = compute()
    with _memo_lock:
        _memo[key] = value
        while len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)
    return value


# ---------------------------------------------------------------- tasks

def task_state(task_id: str) -> dict[str, Any] | None:
    """The task as pages show it now (None when it is gone; `needs_attention` when a permission
    request waits), its project's archived flag and the project's counts per status (for
    board columns)."""
    task = db.session.get(Task, uuid.UUID(task_id))
    if task is None:
        return None
    project = db.session.get(Project, task.project_id)
    rows = db.session.execute(select(Task.status, func.count()).where(
        Task.project_id == task.project_id, Task.deleted_at.is_(None)).group_by(Task.status))
    counts = dict.fromkeys(TASK_STATUSES, 0)
    counts.update({status: n for status, n in rows})
    t = {**task_dict(task), "needs_attention": approvals.pending_count(task_id=task.id) > 0}
    return {"t": t, "deleted": task.deleted_at is not None,
            "archived": bool(project and project.status == "archived"), "counts": counts}


def status_changed_since(task_id: str, seconds: float) -> bool:
    """Did the task's status change in the last `seconds` (its history says)?"""
    since = utcnow() - timedelta(seconds=seconds)
    return db.session.scalar(select(AuditLog.id).where(
        AuditLog.entity_type == "task", AuditLog.entity_id == uuid.UUID(task_id),
        AuditLog.field == "status", AuditLog.created_at >= since).limit(1)) is not None


def task_push(state: dict[str, Any], user: Any, *, page: bool, board: bool,
              moved: bool) -> str:
    return render_template("partials/output/_task_push.html", **state, user=user, page=page,
                           board=board, moved=moved)


# ---------------------------------------------------------------- output

def append(owner_id: str, lines: list[dict[str, Any]]) -> str:
    """Lines at the end of the viewer's log and the last seq shown; the same for every viewer
    (no times, no user), so a live batch is rendered once for all its sockets."""
    return fragment("partials/output/_append.html", owner_id=owner_id,
                    lines=[line_view(line) for line in lines], last_seq=lines[-1]["seq"])


# ---------------------------------------------------------------- everything else

def page(template: str, **context: Any) -> str:
    """A page partial with the page context (current user, time zone, CSRF token)."""
    return render_template(template, **context)


def maintenance_banner(state: dict[str, Any]) -> str:
    """The layout's maintenance banner (shown or hidden), swapped out of band on any page."""
    return render_template("partials/layout/_maintenance_banner.html", maintenance=state,
                           oob=True)


def toast(level: str, title: str, message: str, actions: list[dict[str, Any]] | None = None
          ) -> str:
    safe = [{"label": str(a.get("label") or "Open"), "url": a["url"]}
            for a in actions or [] if isinstance(a, dict) and _safe_url(a.get("url"))]
    level = level if level in ("info", "success", "warning", "error") else "info"
    return render_template("partials/toasts/_toast.html", level=level, title=title,
                           message=message, actions=safe)


def _safe_url(url: Any) -> bool:
    """Only same-site paths and http(s) links become toast links (no javascript: URLs)."""
    if not isinstance(url, str) or len(url) > 2000:
        return False
    if url.startswith("/"):
        return not url.startswith("//") and "\\" not in url
    return url.startswith(("https://", "http://"))


# ---------------------------------------------------------------- queue figures

QUEUE_REFRESH_SECONDS = 5.0   # queue figures at least this often (workers come and go) ...
QUEUE_DIRTY_SECONDS = 1.5     # ... and this soon after a run or a queue changed


def setup_hub(hub) -> None:
    """The queue figures, computed once per process for every page watching them."""
    hub.pages_queues_dirty = threading.Event()
    hub.pages_queues_at = 0.0
    hub.add_periodic("pages-queues", 0.5, push_queue_figures)


def push_queue_figures(hub) -> None:
    listeners = [s for s in hub.subscribers() if getattr(s, "wants_queues", False)
                 and not s.closed]
    if not listeners:
        return
    now = time.monotonic()
    since = now - hub.pages_queues_at
    wait = QUEUE_DIRTY_SECONDS if hub.pages_queues_dirty.is_set() else QUEUE_REFRESH_SECONDS
    if since < wait:
        return
    hub.pages_queues_dirty.clear()
    hub.pages_queues_at = now
    figures = queue_stats.status()
    for sub in listeners:
        sub.offer(("queues", figures))
