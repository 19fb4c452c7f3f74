"""`/ws/pages`: the HTML pages' socket (htmx ws extension). It sends fragments, never JSON.

One socket per live page, authenticated by the page's cookie, watching the topics its
`ws-connect` URL names (app.realtime.page_topics). It rides on the issue-5 hub (one Redis
listener per process) and pushes partials whose root ids the page already has:

- project:<id>  board cards (moved between columns: OOB delete + append), column counts
- task:<id>     status badge and execute/cancel/retry buttons; the executions list
- execution:<id> / command:<id>  output lines appended, gap-free from `after_seq` (subscribe,
                then read storage, then live, each line once by seq), and the run's header
- queues        queue figures when they change, controls when a queue is paused or resumed
- dashboard     counts, runs in flight and activity (at most once a second)
- commands      the console's history      system  maintenance and alerts as toasts
- always        the viewer's own notifications and "a task of yours failed", as toasts; the
                maintenance banner (#maintenance-banner) when it is switched on or off, and
                its current state on connect (every page of a logged-in user has a socket:
                static/js/app.js opens `?topics=user` where the page has none of its own)

One thread per socket writes (this loop); a small reader only notices the close. A client too
slow to keep up is closed with 1013, which the ws extension answers by reconnecting: the URL
then carries the last seq shown (static/js/viewer.js), so output resumes without gap or repeat.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Any

from flask import Blueprint, Flask, current_app, g, request
from simple_websocket import ConnectionClosed

from app.extensions import db, sock
from app.jobs import QUEUES
from app.pages.console import HISTORY_SIZE
from app.pages.dashboard import live_context
from app.pages.layout_context import site_maintenance
from app.pages.output_view import run_view
from app.pages.tasks import EXECUTIONS_SHOWN
from app.realtime import feed, limits, page_topics, streams
from app.realtime import page_fragments as frag
from app.realtime.hub import get_hub
from app.realtime.page_output import PageStreams
from app.realtime.socket_core import SocketCore
from app.realtime.subscriber import Item, Subscriber
from app.realtime.transport import POLICY_VIOLATION, Transport
from app.services import commands, executions, queues

log = logging.getLogger(__name__)
bp = Blueprint("pages_socket", __name__)
TRY_AGAIN = 1013
RECHECK_SECONDS = 30.0  # logout, expiry, disabled account, membership (WS_PAGES_RECHECK)
REFRESH_SECONDS = 1.0
STATE_WINDOW_SECONDS = 10.0  # a task whose status changed this recently is pushed on connect


@sock.route("/ws/pages", bp=bp)
def pages_socket(ws) -> None:
    PageConnection(ws, current_app._get_current_object()).run()


def register_pages_socket(app: Flask) -> None:
    app.register_blueprint(bp)
    app.extensions.setdefault("realtime_hub_setup", []).append(frag.setup_hub)


class _Close(Exception):
    def __init__(self, code: int = 1000, reason: str = "") -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


class PageConnection(PageStreams, SocketCore):
    close_signal = _Close
    label = "pages socket"

    def __init__(self, ws: Any, app: Flask) -> None:
        self.app = app
        self.hub = get_hub(app)
        self.sub = Subscriber(self._accepts, max_pending=int(app.config["WS_MAX_PENDING"]))
        self.transport = Transport(ws, self.sub)
        self.sub.on_abort = self.transport.abort
        self.watch = page_topics.Watch()
        self.user: Any = None
        self.streams: dict[str, streams.Stream] = {}
        self.visible: set[str] | None = set()
        self._out: list[str | bytes] = []
        self._dirty: set[str] = set()
        self._next_refresh = 0.0
        self._queues_html: str | None = None
        self._paused: frozenset[str] | None = None

    # ------------------------------------------------------------ lifecycle

    def run(self) -> None:
        code, reason, acquired = 1000, "", False
        try:
            user, why = page_topics.authenticate()
            if user is None:
                self._toast("warning", "Live updates off", why)
                raise _Close(POLICY_VIOLATION, "not authenticated")
            self.user = g.user = user
            cap = int(self.app.config["WS_MAX_CONNECTIONS_PER_USER"])
            acquired = limits.acquire(str(user.id), self.sub.id, cap)
            if not acquired:
                self._toast("warning", "Live updates off",
                            f"More than {cap} live pages are open: close some and reload.")
                raise _Close(POLICY_VIOLATION, "too many sockets")
            self._start(user)
            self._loop()
        except _Close as close:
            code, reason = close.code, close.reason
            self._flush_quietly()
        except ConnectionClosed:
            log.debug("pages socket %s: the page went away", self.sub.id)
        except Exception:
            log.exception("pages socket %s failed", self.sub.id)
        finally:
            self.hub.unregister(self.sub)
            if acquired:
                limits.release(str(self.user.id), self.sub.id)
            self.transport.close(code, reason)
            self._await_close_reply()
            db.session.remove()

    def _await_close_reply(self, timeout: float = 2.0) -> None:
        """Let the page read what was sent and answer the close before the server drops the
        TCP connection (RFC 6455 §7.1.1): dropping it first can lose the last messages."""
        reader = getattr(self.transport.ws, "thread", None)
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout)

    def _start(self, user: Any) -> None:
        self.jtis, self.expires = page_topics.cookie_tokens()
        self.watch = page_topics.parse(user, request.args)
        self.sub.user_id = str(user.id)
        self.sub.wants_queues = "queues" in self.watch.flags  # read by the queues ticker
        if self.sub.wants_queues:  # as the page was drawn: a change from it shows new controls
            self._paused = frozenset(queues.paused())
        self.visible = page_topics.visible_project_ids(user)
        for why in self.watch.refused:
            self._toast("error", "Not shown live", why)
        self.hub.register(self.sub)
        threading.Thread(target=self._read_loop, name="ws-pages-reader", daemon=True).start()
        for key in self.watch.runs:
            self._open_stream(key)
        self._catch_up_state()
        db.session.remove()
        self._flush()

    def _catch_up_state(self) -> None:
        """What may have changed between drawing the page and this socket listening: the
        runs' headers now; a task's badge and buttons if its status changed moments ago (only
        then: redrawing the buttons would undo a queue the user picked as the page opened);
        the dashboard and the console's history at the first refresh; the maintenance
        banner, always (it may have been switched meanwhile). (A board is not redrawn: its
        cards move from here on.)"""
        self._send(frag.maintenance_banner(site_maintenance()))
        for key in self.watch.runs:
            self._header(*key.split(":", 1))
        for task_id in self.watch.tasks:
            if not frag.status_changed_since(task_id, STATE_WINDOW_SECONDS):
                continue
            state = frag.task_state(task_id)
            if state is not None:
                self._send(frag.task_push(state, self.user, page=True, board=False,
                                          moved=False))
        if "dashboard" in self.watch.flags:
            self._dirty.add("dashboard")
        if "commands" in self.watch.flags:
            self._dirty.add("history")

    def _loop(self) -> None:
        ping = time.monotonic() + float(self.app.config["WS_PING_INTERVAL"])
        every = float(self.app.config.get("WS_PAGES_RECHECK", RECHECK_SECONDS))
        recheck = time.monotonic() + every
        while not self.sub.closed:
            now = time.monotonic()
            due = min(ping, recheck, self._next_refresh if self._dirty else ping)
            self.sub.wait(max(due - now, 0.0) + 0.01)
            if self.sub.overflowed:
                self._out.clear()
                self._toast("warning", "Reconnecting", "Updates came faster than this page "
                            "could take them; resuming after the last line shown.")
                raise _Close(TRY_AGAIN, "client too slow")
            for item in self.sub.get_batch(0):
                self._guard(self._handle, item)
            now = time.monotonic()
            if self._dirty and now >= self._next_refresh:
                self._guard(self._refresh, None)
                self._next_refresh = now + REFRESH_SECONDS
            if now >= recheck:
                recheck = now + every
                self._recheck()
            self._flush()
            if now >= ping:
                ping = now + float(self.app.config["WS_PING_INTERVAL"])
                if not self.transport.ping():
                    raise _Close(POLICY_VIOLATION, "ping timeout")

    def _read_loop(self) -> None:
        """Pages send nothing we need; reading only notices the client going away."""
        try:
            while True:
                self.transport.ws.receive()
        except Exception:  # noqa: BLE001 - any end of the socket ends the reader
            log.debug("pages socket reader ended", exc_info=True)
        finally:
            self.sub.put_control(("closed", None))

    def _recheck(self) -> None:
        try:
            why = page_topics.still_valid(str(self.user.id), self.jtis, self.expires)
            if why is None:  # a changed role or membership shows in the next pushes
                self.user = g.user = db.session.get(type(self.user), self.user.id)
                self.visible = page_topics.visible_project_ids(self.user)
        finally:
            db.session.remove()
        if why:
            self._toast("warning", "Live updates stopped", why)
            raise _Close(POLICY_VIOLATION, "session ended")

    # ------------------------------------------------------------ sending

    def _send(self, *texts: str | None) -> None:
        self._out.extend(t for t in texts if t and t.strip())

    def _toast(self, level: str, title: str, message: str, actions: list | None = None) -> None:
        self._send(frag.toast(level, title, message, actions))

    # ------------------------------------------------------------ dispatch

    def _handle(self, item: Item) -> None:
        kind, value = item
        if kind == "event":
            self._on_event(value)
        elif kind == "output":
            self._on_output(value)
        elif kind == "queues":
            self._on_queues(value)
        elif kind == "hub":
            self._on_hub(value)
        elif kind == "closed":
            raise _Close(1000, "client closed")

    def _accepts(self, event: dict[str, Any]) -> bool:
        """Hub thread, every event: in-memory checks only."""
        if self.user is None:
            return False
        kind = event.get("event") or ""
        scope = event.get("scope") or {}
        flags = self.watch.flags
        if "queues" in flags and (kind in ("execution.updated", "command.updated") or (
                kind == "system.alert" and (event.get("data") or {}).get("queue"))):
            self.hub.pages_queues_dirty.set()
        if kind.startswith("task."):
            return (scope.get("task_id") in self.watch.tasks
                    or scope.get("project_id") in self.watch.projects
                    or kind == "task.failed" or self._dashboard_sees(scope))
        if kind == "execution.updated":
            return (f"execution:{scope.get('execution_id')}" in self.watch.runs
                    or scope.get("task_id") in self.watch.tasks or self._dashboard_sees(scope))
        if kind == "command.updated":
            mine = (event.get("data") or {}).get("user_id") == self.sub.user_id
            return (f"command:{scope.get('command_id')}" in self.watch.runs
                    or ("commands" in flags and (mine or self.user.is_admin))
                    or ("dashboard" in flags and (mine or self._dashboard_sees(scope))))
        if kind == "system.maintenance":
            return True
        if kind.startswith("system."):
            return "system" in flags
        if kind == "notification":
            return scope.get("user_id") == self.sub.user_id
        return False

    def _dashboard_sees(self, scope: dict[str, Any]) -> bool:
        if "dashboard" not in self.watch.flags:
            return False
        return self.visible is None or scope.get("project_id") in self.visible

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("event") or ""
        scope = event.get("scope") or {}
        if kind.startswith("task."):
            self._on_task(event, kind, scope)
        elif kind in ("execution.updated", "command.updated"):
            self._on_run(event, kind.split(".")[0], scope)
        elif kind.startswith("system."):
            if kind == "system.maintenance":
                self._send(frag.maintenance_banner(feed.maintenance_of(event)))
            if "system" in self.watch.flags and self._can_see(scope.get("project_id")):
                self._notice(feed.system_notice(event))  # a project's alert: its people
        elif kind == "notification":
            self._notice(feed.user_notice(event))

    def _notice(self, message: str | None) -> None:
        """A feed notification (JSON text) as a toast."""
        if not message:
            return
        data = json.loads(message)["data"]
        actions = [a for a in data.get("actions") or [] if a.get("url")]
        self._toast(data.get("level") or "info", data.get("title") or "Notice",
                    data.get("message") or "", actions)

    def _on_task(self, event: dict[str, Any], kind: str, scope: dict[str, Any]) -> None:
        task_id, project_id = scope.get("task_id"), scope.get("project_id")
        if self._dashboard_sees(scope):
            self._dirty.add("dashboard")
        if kind == "task.failed":
            self._notice(feed.task_failed_notice(event, self.sub.user_id))
        if kind in ("task.completed", "task.failed") or not task_id:
            return  # the task.updated of the same change carries the new state
        page = task_id in self.watch.tasks
        board = project_id in self.watch.projects
        if not (page or board) or not self._can_see(project_id):
            return
        state = frag.memo(event["id"], "task", lambda: frag.task_state(task_id))
        if state is None:
            return
        data = event.get("data") or {}
        moved = kind in ("task.created", "task.deleted") or (
            "old_status" in data and data.get("old_status") != data.get("status"))
        self._send(frag.task_push(state, self.user, page=page, board=board, moved=moved))

    def _on_run(self, event: dict[str, Any], owner: str, scope: dict[str, Any]) -> None:
        key = f"{owner}:{scope.get(f'{owner}_id')}"
        if self._dashboard_sees(scope) or (owner == "command" and "dashboard" in
                                           self.watch.flags):
            self._dirty.add("dashboard")
        if owner == "command" and "commands" in self.watch.flags:
            self._dirty.add("history")
        if owner == "execution" and scope.get("task_id") in self.watch.tasks \
                and not self.watch.runs:
            self._dirty.add(f"executions:{scope['task_id']}")
        if key not in self.watch.runs:
            return
        status = (event.get("data") or {}).get("status")
        stream = self.streams.get(key)
        if stream is not None and status in streams.FINAL:
            self._catch_up(stream)
            self._finish(stream)
        self._header(owner, key.split(":", 1)[1])

    def _header(self, owner: str, owner_id: str) -> None:
        run = run_view(owner, uuid.UUID(owner_id), self.user)
        self._send(frag.page("partials/output/_header.html", run=run))

    def _refresh(self, _value: None) -> None:
        """Throttled re-renders (dashboard, console history, a task's executions)."""
        dirty, self._dirty = self._dirty, set()
        if "dashboard" in dirty:
            self._send(frag.page("partials/dashboard/_live.html", **live_context(self.user)))
        if "history" in dirty:
            self._send(frag.page("partials/commands/_history.html",
                                 history=commands.history(self.user, HISTORY_SIZE, 0)))
        for item in dirty:
            if item.startswith("executions:"):
                self._executions(item.split(":", 1)[1])

    def _executions(self, task_id: str) -> None:
        runs = executions.list_for_task(uuid.UUID(task_id), self.user, 1, EXECUTIONS_SHOWN)
        self._send(frag.page("partials/tasks/_executions.html", runs=runs, t={"id": task_id}))

    def _on_queues(self, qs: dict[str, Any]) -> None:
        html = frag.page("partials/queues/_figures.html", qs=qs)
        if html != self._queues_html:
            self._queues_html = html
            self._send(html)
        paused = frozenset(q["name"] for q in qs["queues"].values() if q["paused"])
        if self._paused is not None and paused != self._paused:
            self._send(frag.page("partials/queues/_controls.html", qs=qs, queue_names=QUEUES))
        self._paused = paused

    def _on_hub(self, state: str) -> None:
        if state == "down":
            self._toast("warning", "Live updates interrupted",
                        "Lost the connection to Redis; reconnecting.")
            return
        for stream in list(self.streams.values()):
            self._sync(stream)
            self._finish_if_over(stream)
        self._toast("info", "Live updates restored",
                    "Output was caught up; other changes made meanwhile may need a reload.")

    def _can_see(self, project_id: str | None) -> bool:
        """Project access as of the last check (re-read every 30 s: membership can change)."""
        if project_id is None:
            return True
        return self.visible is None or project_id in self.visible
