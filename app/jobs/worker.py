"""The RQ worker of this app: one process, queues in strict priority order, app context on.

On top of rq's SimpleWorker:
- paused queues (`engine:paused`) are skipped when dequeuing; a job popped from a queue that was
  paused in that very instant goes back to its front, so pausing loses and reorders nothing.
  Each dequeue blocks at most a second, so pause/resume take effect within a second. While
  jobs are waiting, one Lua script pops the next one (skipping paused queues) and reads it: one
  round trip instead of four; RQ's worker heartbeats and its suspension check happen at most
  once a second (pipelined), not around every job.
- SIGTERM/SIGINT (make run's Ctrl-C): the running job's process group gets SIGTERM, then SIGKILL
  after the grace period; the run ends `failed` (WORKER_SHUTDOWN, retried when its options say
  so) and the worker exits. Nothing lingers.
- a maintenance thread queues due automatic retries every second and runs the reaper (lost
  runs of dead workers, expired project slots) on start and every ENGINE_REAPER_INTERVAL.
- Redis going away never ends the worker: every step of its loop (heartbeat, suspension
  check, dequeue, RQ's bookkeeping around a job, maintenance) waits and tries again, logging
  once per outage; a run in progress goes on (app.jobs.common). When Redis is back the worker
  registers again if Redis lost its record (restarted without its data), so health and the
  dashboard see it without a restart; a job RQ could not start or record is the reaper's
  (app.jobs.reaper.requeue_stranded).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Sequence

import redis
from flask import Flask
from rq import Queue, SimpleWorker
from rq.exceptions import DequeueTimeout
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.utils import now as rq_now
from rq.worker import WorkerStatus

from app.jobs import QUEUES, common
from app.jobs.runner import SHUTDOWN
from app.jobs.scheduler import start_scheduler

log = logging.getLogger(__name__)
DEQUEUE_BLOCK = 1
HEARTBEAT_EVERY = 1.0
REGISTRATION_CHECK = 10.0  # seconds between looks at whether Redis still knows this worker
REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError)
_OWN_JOBS = frozenset({"app.jobs.tasks.run_execution", "app.jobs.commands.run_command",
                       "app.jobs.webhooks.fanout_event", "app.jobs.webhooks.deliver"})
# Pop the first job of the first queue (in priority order) that is not paused, and read its
# hash, atomically: KEYS = paused hash, queue keys; ARGV = job key prefix, queue names.
DEQUEUE_LUA = """
for i = 2, #KEYS do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 then
    local id = redis.call('LPOP', KEYS[i])
    if id then
      return {KEYS[i], id, redis.call('HGETALL', ARGV[1] .. id)}
    end
  end
end
return false
"""


def worker_connection(app: Flask) -> redis.Redis:
    """A connection for blocking dequeues: no socket timeout shorter than RQ's own waits."""
    return redis.Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=5,
                                health_check_interval=30)


class AppWorker(SimpleWorker):
    """Runs jobs in-process (no fork per job: ~3× the throughput, STACK.md) inside the app
    context that `worker.py` pushed. Jobs start subprocesses for the real work, so a job cannot
    take the worker down with it."""

    app: Flask | None = None
    _current: tuple | None = None
    _last_beat = float("-inf")
    _last_suspension_check = float("-inf")
    _prepared = None
    _pop_script = None
    _maintenance: threading.Thread | None = None
    _stop_maintenance = threading.Event()
    _redis_down_since: float | None = None
    _last_registration_check = float("-inf")

    # ---- Redis outages ---------------------------------------------------------------------

    def _redis_lost(self, exc: Exception, where: str) -> None:
        if self._redis_down_since is None:
            self._redis_down_since = time.monotonic()
            log.error("worker %s: Redis unavailable (%s: %s); waiting for it", self.name, where,
                      exc)

    def _redis_back(self) -> None:
        """After an outage, or now and then: register again when Redis no longer knows this
        worker (restarted without its data, or its key expired meanwhile)."""
        now = time.monotonic()
        if self._redis_down_since is None and now - self._last_registration_check < \
                REGISTRATION_CHECK:
            return
        self._last_registration_check = now
        if not self.connection.hexists(self.key, "birth"):
            self.connection.delete(self.key)  # a heartbeat may have left a partial record
            self.register_birth()
            self.set_state(self.get_state())
            log.warning("worker %s: Redis had lost this worker's record; registered again",
                        self.name)
        if self._redis_down_since is not None:
            log.warning("worker %s: Redis is back after %.1f s", self.name,
                        now - self._redis_down_since)
            self._redis_down_since = None

    # ---- jobs ------------------------------------------------------------------------------

    def execute_job(self, job, queue):
        common.current_worker = self
        try:
            execution = self.prepare_execution(job)
            self._current = (job, execution)
            self.perform_job(job, queue, execution)
        except REDIS_ERRORS as exc:
            # RQ could not start or record the job. The run's own state is in the database;
            # a run left queued is queued again by the reaper.
            self._redis_lost(exc, f"job {job.id}")
        finally:
            self._current = None
        # Not set IDLE here (SimpleWorker does): the next dequeue does it when it finds no job
        # waiting, and a worker that goes straight on to the next one never is idle.

    def keepalive(self) -> None:
        """Called by a long run's heartbeat: keep this worker and its job alive in RQ's eyes."""
        if self._current is not None:
            self.maintain_heartbeats(*self._current)

    def heartbeat(self, timeout=None, pipeline=None):
        """RQ's worker heartbeat (three commands) in one round trip; the routine beats around
        every job are sent at most once per HEARTBEAT_EVERY seconds (the worker's key lives
        for minutes, so a busy worker no longer pays them per job)."""
        if pipeline is not None:
            return super().heartbeat(timeout, pipeline)
        now = time.monotonic()
        if timeout is None and now - self._last_beat < HEARTBEAT_EVERY:
            return None
        self._last_beat = now
        try:
            with self.connection.pipeline() as pipe:
                super().heartbeat(timeout, pipe)
                pipe.execute()
            self._redis_back()
        except REDIS_ERRORS as exc:
            self._redis_lost(exc, "heartbeat")
        return None

    def check_for_suspension(self, burst: bool) -> None:
        """`rq suspend` is looked at most once per HEARTBEAT_EVERY seconds (RQ looks before
        every job: one round trip each)."""
        now = time.monotonic()
        if now - self._last_suspension_check < HEARTBEAT_EVERY:
            return
        self._last_suspension_check = now
        try:
            super().check_for_suspension(burst)
        except REDIS_ERRORS as exc:
            self._redis_lost(exc, "suspension check")

    def run_maintenance_tasks(self):
        try:
            super().run_maintenance_tasks()
        except REDIS_ERRORS as exc:
            self._redis_lost(exc, "maintenance")

    def prepare_execution(self, job):
        """RQ's execution record and BUSY state, queued in a pipeline that
        `prepare_job_execution` sends with its own commands: one round trip, not two."""
        pipeline = self.connection.pipeline()
        execution = Execution.create(job, self.get_heartbeat_ttl(job), pipeline=pipeline,
                                     worker_name=self.name)
        self.executions[execution.id] = execution
        self.set_state(WorkerStatus.BUSY, pipeline=pipeline)
        self._prepared = pipeline
        return execution

    def prepare_job_execution(self, job, remove_from_intermediate_queue=False):
        """RQ 3.0.0's `prepare_job_execution`, in the pipeline `prepare_execution` began."""
        pipeline, self._prepared = self._prepared or self.connection.pipeline(), None
        with pipeline:
            heartbeat_ttl = self.get_heartbeat_ttl(job)
            self.heartbeat(heartbeat_ttl, pipeline=pipeline)
            job.heartbeat(rq_now(), heartbeat_ttl, pipeline=pipeline)
            job.prepare_for_execution(self.name, pipeline=pipeline)
            pipeline.persist(job.key)
            if remove_from_intermediate_queue:
                queue = Queue(job.origin, connection=self.connection)
                pipeline.lrem(queue.intermediate_queue_key, 1, job.id)
            pipeline.execute()
        self.procline(f"Processing {job.func_name} from {job.origin} since {time.time()}")

    def handle_job_success(self, job, queue, started_job_registry, execution):
        """RQ's success bookkeeping (counts, result kept RESULT_TTL, registries, execution
        record) in one pipeline. RQ first WATCHes and reads the job's dependents so it can
        enqueue them: two more round trips per job, for a feature this app never uses (its
        jobs are queued without `depends_on`; anything else gets RQ's own path). Written
        against rq 3.0.0 (pinned in requirements.txt)."""
        if job.func_name not in _OWN_JOBS or job.repeats_left:
            return super().handle_job_success(job, queue, started_job_registry, execution)
        with self.connection.pipeline() as pipeline:
            self.increment_successful_job_count(pipeline=pipeline)
            self.increment_total_working_time(job.ended_at - job.started_at, pipeline)
            result_ttl = job.get_result_ttl(self.default_result_ttl)
            if result_ttl != 0:
                job._handle_success(result_ttl, pipeline=pipeline, worker_name=self.name,
                                    execution_id=execution.id,
                                    execution_started_at=execution.created_at,
                                    execution_ended_at=job.ended_at)
            job.cleanup(result_ttl, pipeline=pipeline, remove_from_queue=False)
            job._status = JobStatus.FINISHED
            self.cleanup_execution(job, pipeline=pipeline, execution=execution)
            pipeline.execute()
        log.info("worker %s: %s finished in %s", self.name, job.id, job.ended_at - job.started_at)
        return None

    def handle_execution_ended(self, job, queue, heartbeat_ttl):
        """Only the end time: RQ also writes a last heartbeat on the job here, a round trip
        for a job it finalizes right after (the run's own record is in the database)."""
        job.ended_at = rq_now()

    # ---- dequeue, skipping paused queues ---------------------------------------------------

    def _pop_ready(self):
        """(job, queue) from the first non-paused queue that has one, popped and read in one
        round trip (DEQUEUE_LUA), else None; (None, None) when the popped job is gone."""
        from app.services.queues import PAUSED

        script = self._pop_script
        if script is None:
            script = self._pop_script = self.connection.register_script(DEQUEUE_LUA)
        queues = self._ordered_queues
        found = script(keys=[PAUSED, *(q.key for q in queues)],
                       args=[Job.redis_job_namespace_prefix, *(q.name for q in queues)])
        if not found:
            return None
        queue_key, job_id, fields = (found[0].decode(), found[1].decode(), found[2])
        if not fields:
            return None, None
        job = self.job_class(job_id, connection=self.connection, serializer=self.serializer)
        job.restore(dict(zip(fields[::2], fields[1::2], strict=True)))
        queue = Queue.from_queue_key(queue_key, connection=self.connection,
                                     job_class=self.job_class, serializer=self.serializer)
        return job, queue

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        """The next job; while Redis is away, wait (backing off up to 5 s) and try again."""
        pause = 0.5
        while True:
            try:
                return self._dequeue(timeout, max_idle_time)
            except REDIS_ERRORS as exc:
                self._redis_lost(exc, "dequeue")
                time.sleep(pause)
                pause = min(pause * 2, 5.0)

    def _dequeue(self, timeout, max_idle_time=None):
        from app.services.queues import paused_names

        if self.get_state() != WorkerStatus.IDLE:  # execute_job has just set it, usually
            self.set_state(WorkerStatus.IDLE)
        self.procline("Listening on " + ",".join(self.queue_names()))
        idle_since = time.monotonic()
        while True:
            self.heartbeat()
            if self.should_run_maintenance_tasks:
                self.run_maintenance_tasks()
            if max_idle_time is not None and time.monotonic() - idle_since > max_idle_time:
                return None
            try:
                ready = self._pop_ready()  # the busy case: no blocking wait, one round trip
                if ready == (None, None):
                    continue
                if ready is not None:
                    job, queue = ready
                    log.info("worker %s: %s: %s (%s)", self.name, queue.name, job.description,
                             job.id)
                    return job, queue
                paused = paused_names(self.connection)
                active = [q for q in self._ordered_queues if q.name not in paused]
                if not active:
                    if timeout is None:
                        return None
                    time.sleep(0.5)
                    continue
                found = Queue.lpop([q.key for q in active],
                                   DEQUEUE_BLOCK if timeout is not None else None,
                                   connection=self.connection)
            except DequeueTimeout:
                continue
            if found is None:
                return None
            queue_key, job_id = (v.decode() if isinstance(v, bytes) else v for v in found)
            name = queue_key.rsplit(":", 1)[-1]
            if name in paused_names(self.connection):
                self.connection.lpush(queue_key, job_id)  # paused meanwhile: put it back first
                continue
            result = Queue._fetch_dequeued_job(self.connection, queue_key, job_id,
                                               job_class=self.job_class,
                                               serializer=self.serializer)
            if result is None:
                continue
            job, queue = result
            log.info("worker %s: %s: %s (%s)", self.name, queue.name, job.description, job.id)
            return job, queue

    # ---- shutdown --------------------------------------------------------------------------

    def request_stop(self, signum, frame):
        """Warm shutdown that does not wait for long runs: their process groups are stopped."""
        SHUTDOWN.set()
        try:
            super().request_stop(signum, frame)
        except REDIS_ERRORS:  # noting the request in Redis failed: stop all the same
            self._stop_requested = True

    def teardown(self):
        self._stop_maintenance.set()
        try:
            super().teardown()
        except REDIS_ERRORS as exc:
            log.warning("worker %s: could not record its death (Redis unavailable: %s)",
                        self.name, exc)

    def _start_scheduler(self, burst=False, logging_level="INFO", date_format=None,
                         log_format=None):
        """RQ's own, with a scheduler that stops when asked (app.jobs.scheduler)."""
        options = {"logging_level": logging_level if logging_level is not None else self.log.level}
        options.update({k: v for k, v in (("date_format", date_format),
                                          ("log_format", log_format)) if v is not None})
        start_scheduler(self, burst, **options)

    # ---- maintenance thread ----------------------------------------------------------------

    def work(self, *args, **kwargs):
        self._stop_maintenance.clear()
        if self.app is not None:
            self._maintenance = threading.Thread(target=self._maintain, name="engine-maintenance",
                                                 daemon=True)
            self._maintenance.start()
        return super().work(*args, **kwargs)

    def _maintain(self) -> None:
        from app.jobs import reaper
        from app.services.engine_config import setting

        assert self.app is not None
        next_reap = 0.0
        failing = False
        while not self._stop_maintenance.is_set():
            with self.app.app_context():
                from app.extensions import db

                try:
                    reaper.queue_due_retries()
                    if time.monotonic() >= next_reap:
                        reaper.reap()
                        next_reap = time.monotonic() + float(setting("ENGINE_REAPER_INTERVAL"))
                    failing = False
                except REDIS_ERRORS as exc:
                    if not failing:
                        log.warning("engine maintenance waits for Redis (%s)", exc)
                    failing = True
                except Exception:
                    log.exception("engine maintenance round failed")
                finally:
                    db.session.remove()
            self._stop_maintenance.wait(1.0)


def build_worker(app: Flask, queue_names: Sequence[str] = QUEUES, name: str | None = None
                 ) -> AppWorker:
    unknown = [q for q in queue_names if q not in QUEUES]
    if unknown:
        raise ValueError(f"unknown queue(s): {', '.join(unknown)}; known: {', '.join(QUEUES)}")
    conn = worker_connection(app)
    queues = [Queue(q, connection=conn) for q in queue_names]
    worker = AppWorker(queues, connection=conn,
                       name=name or f"{socket.gethostname()}.{os.getpid()}")
    worker.app = app
    return worker
