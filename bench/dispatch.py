"""Dispatch figures: execute -> running latency and task throughput on 2 idle workers,
beside raw RQ (SimpleWorker, no-op function) measured in the same run on the same Redis.

    .venv/bin/python bench/dispatch.py [--latency 200] [--tasks 1000]

Ours: tasks are `true` shell tasks executed through the execute service (the code behind
POST /api/tasks/{id}/execute: checks, execution row, history, events, RQ job). Latency is the
execution's created_at -> started_at (set by the worker once the process has started).
Throughput: the normal queue is paused, all executes are submitted, then resumed; the clock
runs from resume to the last completion (so it measures the workers, not the submitting
loop, whose own rate is printed too). Raw RQ: the same two numbers for `os.getpid` jobs.
"""

from __future__ import annotations

import argparse
import time

from _harness import Harness, make_tasks, percentile, setup_project


def raw_rq(h: Harness, latency_n: int, tasks_n: int) -> dict:
    import redis
    from rq import Queue, Worker

    conn = redis.Redis.from_url(h.redis_url)
    q = Queue("rawbench", connection=conn)
    workers = h.raw_workers(2, "rawbench")
    lat = []
    for _ in range(latency_n):
        job = q.enqueue("os.getpid", result_ttl=60)
        while True:
            job.refresh()
            if job.started_at is not None and job.get_status() == "finished":
                break
            time.sleep(0.001)
        lat.append((job.started_at - job.enqueued_at).total_seconds() * 1000)

    def done() -> int:
        return sum(w.successful_job_count for w in Worker.all(connection=conn)
                   if w.name.startswith("raw-"))

    before = done()
    start = time.perf_counter()
    with conn.pipeline() as pipe:
        for _ in range(tasks_n):
            q.enqueue("os.getpid", result_ttl=0, pipeline=pipe)
        pipe.execute()
    while done() - before < tasks_n:
        time.sleep(0.005)
    elapsed = time.perf_counter() - start
    h.stop(workers)
    return {"p50": percentile(lat, 50), "p99": percentile(lat, 99),
            "throughput": tasks_n / elapsed}


def ours(h: Harness, latency_n: int, tasks_n: int) -> dict:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models.execution import TaskExecution
    from app.models.user import User
    from app.services import executions, queue_control

    workers = h.app_workers(2)
    with h.app.app_context():
        user, project = setup_project()
        user = db.session.get(User, user.id)
        ids = make_tasks(user, project, latency_n + 5 + tasks_n, "true")
        lat = []
        for i, task_id in enumerate(ids[:latency_n + 5]):
            ex_id = executions.execute(task_id, user)["execution_id"]
            while True:
                db.session.rollback()
                ex = db.session.get(TaskExecution, __import__("uuid").UUID(ex_id),
                                    populate_existing=True)
                if ex.status in ("completed", "failed"):
                    break
                time.sleep(0.001)
            if i >= 5:  # the first few warm the workers up
                lat.append((ex.started_at - ex.created_at).total_seconds() * 1000)
        queue_control.pause("normal", "bench", user)
        t0 = time.perf_counter()
        for task_id in ids[latency_n + 5:]:
            executions.execute(task_id, user)
        submit = time.perf_counter() - t0
        db.session.rollback()
        start = time.perf_counter()
        queue_control.resume("normal", user)
        while True:
            db.session.rollback()
            n = db.session.scalar(select(func.count()).select_from(TaskExecution).where(
                TaskExecution.status == "completed"))
            if n >= latency_n + 5 + tasks_n:
                break
            time.sleep(0.02)
        elapsed = time.perf_counter() - start
    h.stop(workers)
    return {"p50": percentile(lat, 50), "p99": percentile(lat, 99),
            "throughput": tasks_n / elapsed, "submit_rate": tasks_n / submit}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=1000)
    args = parser.parse_args()
    h = Harness()
    try:
        raw = raw_rq(h, args.latency, args.tasks)
        app = ours(h, args.latency, args.tasks)
    finally:
        h.close()
    print(f"database: {h.db_url.split(':', 1)[0]}; 2 workers each; {args.latency} sequential "
          f"runs for latency, {args.tasks} for throughput")
    print(f"raw RQ no-op      enqueue->start p50 {raw['p50']:6.1f} ms  p99 {raw['p99']:6.1f} ms"
          f"  throughput {raw['throughput']:7.1f} jobs/s")
    print(f"engine `true`     execute->running p50 {app['p50']:6.1f} ms  p99 {app['p99']:6.1f} ms"
          f"  throughput {app['throughput']:7.1f} tasks/s  (execute service alone: "
          f"{app['submit_rate']:.0f}/s)")
    print(f"throughput ratio engine/raw RQ: {app['throughput'] / raw['throughput']:.2f} "
          "(target >= 0.50)")


if __name__ == "__main__":
    main()
