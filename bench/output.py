"""Output figures: a command printing 200,000 lines as fast as it can, on a real worker.

    .venv/bin/python bench/output.py [--lines 200000]

Checks that every line is stored, in order, none lost (seq 1..N contiguous and the content of
line i is "i"), and prints lines per second through the engine (process start -> last line
committed), the peak RSS of the worker process (sampled every 20 ms), and, as the baseline in
the same run, how fast this machine reads the same output from a pipe without storing it.
"""

from __future__ import annotations

import argparse
import subprocess
import time
import uuid

import psutil
from _harness import Harness, make_tasks, setup_project


def baseline(lines: int) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(["seq", "1", str(lines)], stdout=subprocess.PIPE)
    count = sum(1 for _ in proc.stdout)
    proc.wait()
    assert count == lines
    return lines / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=200_000)
    args = parser.parse_args()
    h = Harness()
    try:
        from sqlalchemy import select

        from app.extensions import db
        from app.models.execution import OutputLine, TaskExecution
        from app.models.user import User
        from app.services import executions

        worker = h.app_workers(1)[0]
        proc = psutil.Process(worker.pid)
        idle_rss = proc.memory_info().rss
        with h.app.app_context():
            user, project = setup_project()
            user = db.session.get(User, user.id)
            task_id = make_tasks(user, project, 1, f"seq 1 {args.lines}")[0]
            ex_id = uuid.UUID(executions.execute(task_id, user)["execution_id"])
            peak = idle_rss
            while True:
                peak = max(peak, proc.memory_info().rss)
                db.session.rollback()
                ex = db.session.get(TaskExecution, ex_id, populate_existing=True)
                if ex.status in ("completed", "failed", "cancelled"):
                    break
                time.sleep(0.02)
            seconds = (ex.finished_at - ex.started_at).total_seconds()
            rows = db.session.execute(select(OutputLine.seq, OutputLine.content).where(
                OutputLine.owner_type == "execution", OutputLine.owner_id == ex_id)
                .order_by(OutputLine.seq)).all()
        pipe_rate = baseline(args.lines)
    finally:
        h.close()
    intact = (len(rows) == args.lines
              and all(seq == i and content == f"{i}\n"
                      for i, (seq, content) in enumerate(rows, start=1)))
    print(f"database: {h.db_url.split(':', 1)[0]}; {args.lines} lines; status {ex.status}, "
          f"exit {ex.exit_code}")
    print(f"stored {len(rows)} lines, in order and complete: {intact}")
    print(f"engine: {args.lines / seconds:,.0f} lines/s ({seconds:.2f} s from start to the last "
          f"line committed and published)")
    print(f"baseline, same machine, same run: reading the pipe alone {pipe_rate:,.0f} lines/s")
    print(f"worker RSS: idle {idle_rss / 2**20:.0f} MB, peak {peak / 2**20:.0f} MB "
          "(target < 150 MB)")


if __name__ == "__main__":
    main()
