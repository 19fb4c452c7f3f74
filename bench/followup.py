"""A follow-up's start latency beside a fresh run's, measured in the same run: execute -> the
first output line stored.

    .venv/bin/python bench/followup.py [--runs 30]

A private installation (bench/_harness.py) with one real worker and the stand-in Claude CLI
(tests/fake_claude.py, which keeps transcripts and resumes them like the real one). Each round
executes a fresh Claude task (through the execute service, as POST /api/tasks/{id}/execute
does) and, once it has ended, follows it up (the follow-up service: the same checks, plus the
worker's resume checks: the recorded directory, the transcript in the workspace, `--resume`).
Latency is the execution's created_at (written by the request) to its first output line's
timestamp (taken when the worker read it from the CLI), so polling adds nothing to it. The
first rounds warm the worker up and are left out; fresh runs and follow-ups alternate.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

from _harness import ROOT, TMP, Harness, percentile, setup_project


def stand_in() -> str:
    """An executable wrapper around tests/fake_claude.py that a run's account can execute."""
    path = TMP / "claude"
    path.write_text(f"#!/bin/sh\nexec {_python()} {ROOT / 'tests' / 'fake_claude.py'} \"$@\"\n")
    path.chmod(0o755)
    os.chmod(TMP, 0o711)
    return str(path)


def _python() -> str:
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3", sys.executable):
        if Path(candidate).exists():
            return candidate
    return sys.executable


def _latency_ms(execution_id: str) -> float:
    """created_at -> first output line, once the run has ended."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models.execution import OutputLine, TaskExecution

    eid = uuid.UUID(execution_id)
    deadline = time.monotonic() + 60
    while True:
        db.session.rollback()
        ex = db.session.get(TaskExecution, eid, populate_existing=True)
        if ex.status in ("completed", "failed", "cancelled"):
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"execution {eid} did not end; see the logs in {TMP}")
        time.sleep(0.005)
    if ex.status != "completed":
        raise SystemExit(f"execution {eid} {ex.status}: {ex.error_message}")
    first = db.session.scalar(select(OutputLine.timestamp).where(
        OutputLine.owner_type == "execution", OutputLine.owner_id == eid,
        OutputLine.seq == 1))
    return (first - ex.created_at).total_seconds() * 1000


def measure(h: Harness, runs: int, warm: int = 3) -> tuple[list[float], list[float]]:
    from app.extensions import db
    from app.models.task import Task
    from app.models.user import User
    from app.services import conversation, executions

    workers = h.app_workers(1)
    fresh, follow = [], []
    with h.app.app_context():
        user, project = setup_project()
        user = db.session.get(User, user.id)
        for i in range(runs + warm):
            task = Task(project_id=project.id, title=f"conversation {i}", executor="claude",
                        command="Remember this round", created_by=user.id)
            db.session.add(task)
            db.session.commit()
            first = _latency_ms(executions.execute(task.id, user)["execution_id"])
            again = _latency_ms(conversation.follow_up(task.id, user, "And now?")[
                "execution_id"])
            if i >= warm:
                fresh.append(first)
                follow.append(again)
    h.stop(workers)
    return fresh, follow


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    h = Harness(CLAUDE_CLI_PATH=stand_in())
    try:
        fresh, follow = measure(h, args.runs)
    finally:
        h.close()
    print(f"database: {h.db_url.split(':', 1)[0]}; 1 worker; {args.runs} rounds of a fresh "
          "run then its follow-up (stand-in CLI)")
    for name, values in (("fresh run", fresh), ("follow-up", follow)):
        print(f"{name:10} execute -> first output line  p50 {percentile(values, 50):6.1f} ms  "
              f"p90 {percentile(values, 90):6.1f} ms  max {max(values):6.1f} ms")
    print(f"follow-up / fresh, p50: {percentile(follow, 50) / percentile(fresh, 50):.2f}")


if __name__ == "__main__":
    main()
