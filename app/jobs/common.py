"""What both job functions share: finding their row, the heartbeat, building the runner."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

import psutil
from flask import current_app

from app.extensions import db
from app.jobs.output import OutputWriter
from app.jobs.runner import ProcessRun
from app.services import concurrency, run_control
from app.services.engine_config import app_setting, setting
from app.services.run_identity import RunIdentity

log = logging.getLogger(__name__)
current_worker: Any = None  # set by AppWorker while it runs a job


def worker_name() -> str:
    worker = current_worker
    return getattr(worker, "name", None) or f"{socket.gethostname()}.{os.getpid()}"


def load(model: type, row_id: uuid.UUID, wait: float = 5.0):
    """The row, waiting briefly: the web request commits just after it enqueues the job."""
    return wait_for_row(lambda: db.session.get(model, row_id, populate_existing=True), wait)


def wait_for_row(read: Callable[[], Any], wait: float = 5.0):
    """`read()` until it finds something, for at most `wait` seconds: the web request commits
    just after it enqueues the job, so an idle worker can get there first. Polls after 1 ms,
    then ever less often (a start is not delayed by a fixed 20 ms nap)."""
    deadline = time.monotonic() + wait
    pause = 0.001
    while True:
        found = read()
        if found is not None or time.monotonic() > deadline:
            return found
        db.session.rollback()
        time.sleep(pause)
        pause = min(pause * 2, 0.02)


def heartbeat_tick(key: str, writer: OutputWriter, project_id: uuid.UUID | None = None,
                   execution_id: uuid.UUID | None = None) -> tuple[Callable[[], None], float]:
    """The periodic beat of a run: Redis heartbeat, slot lease, RQ worker, DB heartbeat_at."""
    ttl = int(setting("ENGINE_HEARTBEAT_TTL"))
    state = {"beats": 0}

    def tick() -> None:
        state["beats"] += 1
        try:
            run_control.heartbeat(key, ttl)
            if project_id is not None and execution_id is not None:
                concurrency.refresh(project_id, execution_id, ttl)
            keepalive = getattr(current_worker, "keepalive", None)
            if keepalive:
                keepalive()
        except Exception:  # noqa: BLE001 - a missed beat is logged; the run goes on
            log.warning("heartbeat of %s failed", key, exc_info=True)
        if state["beats"] % 4 == 0 and not writer.pending:
            writer.flush(heartbeat=True)

    return tick, max(ttl / 4.0, 0.5)


def make_runner(argv: list[str], cwd: str, env: dict[str, str], writer: OutputWriter, key: str,
                timeout: float | None, tick: Callable[[], None], tick_every: float,
                feed=None, max_line: int | None = None,
                identity: RunIdentity | None = None) -> ProcessRun:
    return ProcessRun(
        argv, cwd, env, writer, timeout=timeout, grace=float(setting("CANCEL_GRACE_SECONDS")),
        flush_ms=int(setting("OUTPUT_FLUSH_MS")),
        cancel_check=lambda: run_control.cancel_request(key), tick=tick, tick_every=tick_every,
        feed=feed, max_line=max_line or 1024 * 1024,
        drain_after_exit=float(setting("ORPHAN_DRAIN_SECONDS")), identity=identity)


def new_writer(owner_type: str, owner_id: uuid.UUID) -> OutputWriter:
    return OutputWriter(owner_type, owner_id, int(app_setting("MAX_OUTPUT_BYTES",
                                                              10 * 1024 * 1024)),
                        int(setting("OUTPUT_BATCH_LINES")))


def process_identity(pid: int) -> dict[str, Any]:
    """pid + start time, so a reaper can tell this process from a later one with its pid."""
    try:
        return {"pid": pid, "create_time": psutil.Process(pid).create_time()}
    except psutil.Error:
        return {"pid": pid, "create_time": None}


def cli_path() -> str:
    return current_app.config.get("CLAUDE_CLI_PATH") or "claude"
