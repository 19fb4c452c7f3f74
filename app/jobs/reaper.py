"""Recovering from workers that died mid-run (SIGKILL, OOM, a lost machine).

Every running run has a heartbeat key in Redis with a short TTL, refreshed by a thread of its
worker (so it goes on while the run waits for a stalled database), and a database heartbeat
(`heartbeat_at`, written with its output; it goes on while Redis is away). Every live worker
runs `reap()` on start and every `ENGINE_REAPER_INTERVAL` seconds: a run whose Redis heartbeat
is gone *and* whose database heartbeat is older than two TTLs is *lost*. The first reaper to
claim it (SET NX) kills what is left of its process group when it ran on this host (matching
pid and start time, so a reused pid is never hit), ends it `failed` with WORKER_LOST (an
automatic retry follows when its options allow), frees its project slot, and publishes
`system.alert`. A database sweep catches runs that are
`running` without any Redis record (Redis flushed or replaced). Due automatic retries are
queued here too, and queued runs whose RQ job vanished (Redis restarted without its data) are
queued again (`requeue_stranded`).
"""

from __future__ import annotations

import logging
import os
import signal
import time
import uuid
from datetime import timedelta
from typing import Any

import psutil
from sqlalchemy import select

from app.errors import utcnow
from app.extensions import db, get_redis
from app.models.command import CommandRun
from app.models.execution import TaskExecution
from app.services import commands as command_service
from app.services import concurrency, events, queues, run_control
from app.services import execution_lifecycle as lifecycle
from app.services.engine_config import setting
from app.services.execution_lifecycle import Outcome

log = logging.getLogger(__name__)
DEFAULTS = {
    # A queued run older than this whose RQ job is gone is queued again...
    "STRANDED_AFTER_SECONDS": 10.0,
    # ...at most this many times; then it fails, saying why.
    "STRANDED_MAX_REQUEUES": 3,
}


def queue_due_retries() -> int:
    """Move automatic retries whose backoff has passed onto their queues."""
    count = 0
    for key, queue in run_control.claim_due():
        owner_type, owner_id = run_control.split_key(key)
        row = db.session.get(TaskExecution if owner_type == "execution" else CommandRun,
                             owner_id)
        if row is None or row.status != "queued":
            continue
        queues.enqueue_run(owner_type, owner_id, queue, description=f"{owner_type} {owner_id} "
                           "(automatic retry)")
        count += 1
    db.session.rollback()
    return count


def kill_orphans(info: dict[str, Any]) -> bool:
    """SIGKILL the lost run's process group if it ran here and is still that process."""
    pid, created = info.get("pid"), info.get("create_time")
    if not pid or info.get("host") != run_control.HOST:
        return False
    try:
        proc = psutil.Process(int(pid))
        if created is not None and abs(proc.create_time() - float(created)) > 0.01:
            return False
        os.killpg(int(pid), signal.SIGKILL)
        return True
    except (psutil.Error, ProcessLookupError, PermissionError):
        return False


def _lost(key: str, info: dict[str, Any], why: str) -> None:
    owner_type, owner_id = run_control.split_key(key)
    killed = kill_orphans(info)
    outcome = Outcome(status="failed", error_code="WORKER_LOST", error_message=why)
    project_id = None
    if owner_type == "execution":
        row = lifecycle.finish(owner_id, outcome)
        project_id = row.project_id if row else db.session.scalar(
            select(TaskExecution.project_id).where(TaskExecution.id == owner_id))
    else:
        command_service.finish(owner_id, outcome)
    run_control.unregister_run(key)
    if project_id is not None:
        lifecycle.release(project_id, owner_id)
    # System alerts reach every `system` subscriber and webhook, so they name the worker, not
    # the run: which task or command was hit (and its project) goes out only through that run's
    # own events, to those who may see it.
    events.publish(events.make_event("system.alert", {
        "level": "warning", "title": "Worker lost",
        "message": f"Worker {info.get('worker') or '?'} stopped answering; a {owner_type} it "
                   f"was running was ended ({why})",
        "worker": info.get("worker"), "host": info.get("host"), "orphans_killed": killed}))
    log.warning("reaped lost %s %s (%s)", owner_type, owner_id, why)


def alive_in_database(key: str, ttl: int) -> bool:
    """Whether the run wrote its database heartbeat within two TTLs: its worker is alive even
    if its Redis heartbeat is gone (it expired while Redis was away)."""
    owner_type, owner_id = run_control.split_key(key)
    model = TaskExecution if owner_type == "execution" else CommandRun
    cutoff = utcnow() - timedelta(seconds=2 * ttl)
    fresh = db.session.scalar(select(model.id).where(
        model.id == owner_id, model.status == "running", model.heartbeat_at >= cutoff))
    db.session.rollback()
    return fresh is not None


def reap_lost_runs() -> int:
    r = get_redis()
    ttl = int(setting("ENGINE_HEARTBEAT_TTL"))
    count = 0
    for key, info in run_control.active_runs().items():
        if run_control.is_alive(key) or alive_in_database(key, ttl):
            continue
        if not r.set(f"engine:reaping:{key}", run_control.HOST, nx=True, ex=120):
            continue
        try:
            _lost(key, info, f"Worker {info.get('worker')} stopped responding (killed or "
                             "crashed) while this was running")
            count += 1
        except Exception:
            db.session.rollback()
            log.exception("could not reap %s", key)
            r.delete(f"engine:reaping:{key}")
    return count


def sweep_database() -> int:
    """Runs `running` in the database, silent for long, and unknown to Redis: lost too."""
    ttl = int(setting("ENGINE_HEARTBEAT_TTL"))
    cutoff = utcnow() - timedelta(seconds=max(3 * ttl, 60))
    known = set(run_control.active_runs())
    count = 0
    for model, owner_type in ((TaskExecution, "execution"), (CommandRun, "command")):
        ids = db.session.scalars(select(model.id).where(
            model.status == "running", model.heartbeat_at < cutoff)).all()
        for row_id in ids:
            key = run_control.owner_key(owner_type, row_id)
            if key in known or not get_redis().set(f"engine:reaping:{key}", "1", nx=True, ex=120):
                continue
            _lost(key, {}, "Its worker disappeared without a trace (no heartbeat for "
                           f"{max(3 * ttl, 60)} s)")
            count += 1
    db.session.rollback()
    return count


def promote_waiters() -> None:
    """Slots whose leases expired (a dead worker nobody reaped) go to the waiting runs."""
    for project_id in concurrency.projects_with_waiters():
        try:
            lifecycle.promote(uuid.UUID(project_id))
        except Exception:
            log.exception("could not promote waiters of project %s", project_id)
    db.session.rollback()


def _job_alive(key: str) -> bool:
    """Whether the run's current RQ job can still run it: waiting in its queue, or started by
    a worker that Redis still knows."""
    job_id = run_control.job_of(key)
    if not job_id:
        return False
    r = get_redis()
    status, origin, worker = r.hmget(f"rq:job:{job_id}", "status", "origin", "worker_name")
    status = status.decode() if status else None
    if status in ("deferred", "scheduled"):
        return True
    if status == "queued" and origin:
        return r.lpos(f"rq:queue:{origin.decode()}", job_id) is not None
    if status == "started":
        return worker is None or bool(r.exists(f"rq:worker:{worker.decode()}"))
    return False


def _waits_elsewhere(key: str, project_id: uuid.UUID | None) -> bool:
    """In line for its project's slot, holding a reservation, or waiting for a retry's
    backoff: no job on purpose."""
    r = get_redis()
    if r.zscore(run_control.DELAYED, key) is not None:
        return True
    if project_id is None:
        return False
    member = str(run_control.split_key(key)[1])
    return (r.zscore(concurrency.waiting_key(project_id), member) is not None
            or r.zscore(concurrency.leases_key(project_id), member) is not None)


def requeue_stranded() -> int:
    """Queued runs whose RQ job is gone (Redis restarted without its data, a job that crashed
    before it could run) are queued again, oldest first, or failed with a clear error after
    `STRANDED_MAX_REQUEUES` tries. One worker per round does this (a short Redis lock)."""
    r = get_redis()
    interval = float(setting("ENGINE_REAPER_INTERVAL"))
    if not r.set("engine:requeue-lock", run_control.HOST, nx=True, px=int(interval * 900)):
        return 0
    cutoff = utcnow() - timedelta(seconds=float(setting("STRANDED_AFTER_SECONDS", DEFAULTS)))
    limit = int(setting("STRANDED_MAX_REQUEUES", DEFAULTS))
    count = 0
    for model, owner_type in ((TaskExecution, "execution"), (CommandRun, "command")):
        rows = db.session.execute(
            select(model.id, model.project_id, model.queue)
            .where(model.status == "queued", model.created_at < cutoff)
            .order_by(model.created_at).limit(200)).all()
        db.session.rollback()
        for row in rows:
            key = run_control.owner_key(owner_type, row[0])
            if _job_alive(key) or _waits_elsewhere(key, row[1] if owner_type == "execution"
                                                   else None):
                continue
            tries = r.incr(f"engine:requeued:{key}")
            r.expire(f"engine:requeued:{key}", 7 * 24 * 3600)
            if tries > limit:
                _fail_stranded(owner_type, row[0], tries - 1)
            else:
                queues.enqueue_run(owner_type, row[0], row[2],
                                   description=f"{owner_type} {row[0]} (queued again)")
                log.warning("%s %s was queued but its job was gone; queued again (%s of %s)",
                            owner_type, row[0], tries, limit)
            count += 1
    return count


def _fail_stranded(owner_type: str, owner_id: uuid.UUID, tries: int) -> None:
    outcome = Outcome(status="failed", error_code="TASK_EXECUTION_FAILED", retryable=False,
                      error_message=f"Its queued job disappeared {tries + 1} times (Redis lost "
                                    f"its data or the job crashed before it ran); it was queued "
                                    f"again {tries} times and is not queued any more")
    if owner_type == "execution":
        lifecycle.finish(owner_id, outcome)
    else:
        command_service.finish(owner_id, outcome)
    log.error("%s %s: job lost %s times; failed", owner_type, owner_id, tries + 1)


def reap() -> dict[str, int]:
    """One full round; safe to run from every worker at once."""
    started = time.monotonic()
    lost = reap_lost_runs()
    swept = sweep_database()
    requeued = requeue_stranded()
    promote_waiters()
    if lost or swept or requeued:
        log.info("reaper: %s lost, %s swept, %s queued again in %.3fs", lost, swept, requeued,
                 time.monotonic() - started)
    return {"lost": lost, "swept": swept, "requeued": requeued}
