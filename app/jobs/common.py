"""What both job functions share: finding their row, the heartbeat, building the runner."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import psutil
from flask import current_app

from app.extensions import db, get_redis
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


class Beat:
    """The heartbeat of one run, in two parts.

    A thread beats in Redis every `ttl / 4` seconds (heartbeat key, the run's record, the
    project slot lease, RQ's worker and job): it goes on while the run loop waits for a stalled
    database, so another worker's reaper never takes a healthy run for a dead one. It starts at
    once and stops when the run is unregistered (`run_control.unregister_run`), i.e. after its
    final state is written. Redis errors are logged once per outage; the run goes on.

    Called from the run loop (every `every` seconds), it writes the database heartbeat
    (`heartbeat_at`, every fourth call when no output batch did it): what tells a reaper that
    the run was alive while Redis was away."""

    def __init__(self, key: str, writer: OutputWriter, ttl: int,
                 project_id: uuid.UUID | None = None, execution_id: uuid.UUID | None = None
                 ) -> None:
        self.key, self.writer, self.ttl = key, writer, ttl
        self.project_id, self.execution_id = project_id, execution_id
        self.every = max(ttl / 4.0, 0.5)
        self.calls = 0
        self.failing = False
        self._redis = get_redis()
        self._worker = current_worker
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"beat {key}", daemon=True)
        run_control.attach_beat(key, self)
        self._thread.start()

    def __call__(self) -> None:
        self.calls += 1
        if self.calls % 4 == 0 and not self.writer.pending:
            self.writer.flush(heartbeat=True)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(5)

    def _main(self) -> None:
        while not self._stop.wait(self.every):
            self.beat()

    def beat(self) -> None:
        try:
            run_control.heartbeat(self.key, self.ttl, client=self._redis)
            if self.project_id is not None and self.execution_id is not None:
                # The lease outlives the moment a reaper could call the run lost (two TTLs
                # without any heartbeat): an outage that expires the heartbeat must not hand
                # the slot of a healthy run to a waiter.
                concurrency.refresh(self.project_id, self.execution_id, 3 * self.ttl,
                                    client=self._redis)
            keepalive = getattr(self._worker, "keepalive", None)
            if keepalive:
                keepalive()
        except Exception as exc:  # noqa: BLE001 - a missed beat is logged; the run goes on
            if not self.failing:
                log.warning("heartbeat of %s failed (%s); the run goes on", self.key, exc)
            self.failing = True
            return
        if self.failing:
            log.info("heartbeat of %s is back", self.key)
            self.failing = False


def heartbeat_tick(key: str, writer: OutputWriter, project_id: uuid.UUID | None = None,
                   execution_id: uuid.UUID | None = None) -> tuple[Callable[[], None], float]:
    """The run's `Beat` (started now) and how often the run loop should call it."""
    beat = Beat(key, writer, int(setting("ENGINE_HEARTBEAT_TTL")), project_id, execution_id)
    return beat, beat.every


def cancel_check(key: str) -> Callable[[], dict | None]:
    """The run loop's look at its cancel request. With Redis away no request can be read: the
    run goes on (logged once per outage) and sees a cancel made after Redis is back."""
    state = {"failing": False}

    def check() -> dict | None:
        try:
            request = run_control.cancel_request(key)
        except Exception as exc:  # noqa: BLE001 - Redis unreachable
            if not state["failing"]:
                log.warning("cancel requests of %s cannot be read (%s); the run goes on", key,
                            exc)
            state["failing"] = True
            return None
        state["failing"] = False
        return request

    return check


def make_runner(argv: list[str], cwd: str, env: dict[str, str], writer: OutputWriter, key: str,
                timeout: float | None, tick: Callable[[], None], tick_every: float,
                feed=None, max_line: int | None = None,
                identity: RunIdentity | None = None,
                terminal_order: bool = False) -> ProcessRun:
    """The engine for one run. Shell runs (`terminal_order`) get stdout and stderr as one pipe
    (the order they were written in, as a terminal shows it) unless SHELL_OUTPUT_STREAMS is
    `separate`."""
    return ProcessRun(
        argv, cwd, env, writer, timeout=timeout, grace=float(setting("CANCEL_GRACE_SECONDS")),
        flush_ms=int(setting("OUTPUT_FLUSH_MS")),
        cancel_check=cancel_check(key), tick=tick, tick_every=tick_every,
        feed=feed, max_line=max_line or 1024 * 1024,
        drain_after_exit=float(setting("ORPHAN_DRAIN_SECONDS")), identity=identity,
        merge_stderr=(terminal_order
                      and str(setting("SHELL_OUTPUT_STREAMS")).lower() != "separate"))


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
