"""The database misbehaving under a running run, for real (SQLite and PostgreSQL): a stall
longer than the heartbeat TTL (a write lock held by another connection), writes refused for
longer than the retry window, and a final state written by somebody else mid-run."""

from __future__ import annotations

import contextlib
import time

import pytest

from tests.jobs.faults import full_log, status_of, stored
from tests.jobs.fixtures import execute, marker, processes_with, wait_final
from tests.jobs.fixtures import make_task as task_for
from tests.live import holds_for, wait_for

pytestmark = pytest.mark.slow
TTL = 2


@contextlib.contextmanager
def output_writes_blocked():
    """Another connection holds the lock writers of output need: SQLite's write lock (BEGIN
    IMMEDIATE), PostgreSQL's LOCK TABLE output_lines (reads go on in both)."""
    from app.extensions import db

    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if db.engine.dialect.name == "sqlite":
            raw.driver_connection.isolation_level = None
            cursor.execute("BEGIN IMMEDIATE")
        else:
            cursor.execute("LOCK TABLE output_lines IN EXCLUSIVE MODE")
        yield
    finally:
        raw.rollback()
        # never back to the pool: in autocommit mode it would commit later tests' every flush
        raw.invalidate()
        raw.close()


@contextlib.contextmanager
def output_writes_refused():
    """Every INSERT of output fails (a trigger raising an error) until the block ends."""
    from sqlalchemy import text

    from app.extensions import db

    if db.engine.dialect.name == "sqlite":
        create = ["CREATE TRIGGER refuse_output BEFORE INSERT ON output_lines "
                  "BEGIN SELECT RAISE(ABORT, 'output refused by the test'); END"]
        drop = ["DROP TRIGGER IF EXISTS refuse_output"]
    else:
        create = ["CREATE FUNCTION refuse_output() RETURNS trigger LANGUAGE plpgsql AS "
                  "$$ BEGIN RAISE EXCEPTION 'output refused by the test'; END $$",
                  "CREATE TRIGGER refuse_output BEFORE INSERT ON output_lines FOR EACH ROW "
                  "EXECUTE FUNCTION refuse_output()"]
        drop = ["DROP TRIGGER IF EXISTS refuse_output ON output_lines",
                "DROP FUNCTION IF EXISTS refuse_output()"]
    db.session.rollback()  # DDL waits for every open transaction that read the table
    with db.engine.begin() as conn:
        for statement in create:
            conn.execute(text(statement))
    try:
        yield
    finally:
        db.session.rollback()
        with db.engine.begin() as conn:
            for statement in drop:
                conn.execute(text(statement))


def test_a_database_stall_longer_than_the_ttl_does_not_lose_a_healthy_run(
        client, auth, ctx, dev, project, workers):
    workers(2, ENGINE_HEARTBEAT_TTL=str(TTL))  # the other worker's reaper is watching
    total = 80
    task = task_for(project, dev, f"for i in $(seq 1 {total}); do echo line $i; sleep 0.02; "
                                  "done")
    ex_id = execute(client, auth(dev), task.id).get_json()["data"]["execution_id"]
    wait_for(lambda: stored("execution", ex_id)[1] >= 5, 20, message="the first lines")

    from app.extensions import get_redis
    from app.services import run_control

    beat = f"engine:hb:{run_control.owner_key('execution', ex_id)}"
    with output_writes_blocked():
        stalled_at = stored("execution", ex_id)[1]

        def left_alone() -> None:
            # the run is waiting for the database, its heartbeat goes on, nobody reaps it
            assert get_redis().exists(beat), "the heartbeat expired during the stall"
            assert status_of("execution", ex_id) == "running"

        holds_for(left_alone, 3 * TTL)  # the stall: three heartbeat TTLs
        assert stored("execution", ex_id)[1] == stalled_at  # it really was stalled

    data = wait_final(client, auth(dev), ex_id, 60)
    assert data["status"] == "completed", data
    assert [line["content"] for line in data["output"]] == [
        f"line {i}\n" for i in range(1, total + 1)]


def test_output_refused_past_the_retry_window_fails_the_run_with_database_error(
        client, auth, ctx, dev, project, workers):
    worker, = workers(1, OUTPUT_DB_RETRY_SECONDS="2")
    tag = marker()
    task = task_for(project, dev, f": {tag}; i=0; while true; do echo line $i; i=$((i+1)); "
                                  "sleep 0.02; done")
    ex_id = execute(client, auth(dev), task.id).get_json()["data"]["execution_id"]
    wait_for(lambda: stored("execution", ex_id)[1] >= 5, 20, message="the first lines")
    with output_writes_refused():
        data = wait_final(client, auth(dev), ex_id, 60)
    assert data["status"] == "failed"
    assert data["error"]["code"] == "DATABASE_ERROR", data["error"]
    assert "output refused by the test" in data["error"]["message"]
    assert "retrying" in full_log(worker)  # it was retried before giving up
    wait_for(lambda: not processes_with(tag), 10, message="the run's processes to be stopped")
    count, top = stored("execution", ex_id)
    assert count == top  # contiguous, nothing lost in the middle


def test_no_output_is_stored_after_a_run_was_ended_elsewhere(
        client, auth, ctx, dev, project, workers):
    worker, = workers(1)
    tag = marker()
    task = task_for(project, dev, f": {tag}; i=0; while true; do echo line $i; i=$((i+1)); "
                                  "sleep 0.01; done")
    ex_id = execute(client, auth(dev), task.id).get_json()["data"]["execution_id"]
    wait_for(lambda: stored("execution", ex_id)[1] >= 5, 20, message="the first lines")

    import uuid

    from app.services import execution_lifecycle as lifecycle

    ended = lifecycle.finish(uuid.UUID(ex_id), lifecycle.Outcome(
        status="failed", error_code="WORKER_LOST", error_message="ended by the test"))
    assert ended is not None
    wait_for(lambda: "was ended elsewhere" in full_log(worker), 20,
             message="the worker to notice the run was ended")
    wait_for(lambda: not processes_with(tag), 20, message="the run's processes to be stopped")
    data = wait_final(client, auth(dev), ex_id)
    assert data["status"] == "failed" and data["error"]["message"] == "ended by the test"
    count, top = stored("execution", ex_id)
    assert count == top
    from sqlalchemy import select

    from app.extensions import db
    from app.models.execution import TaskExecution

    db.session.rollback()
    last_seq = db.session.scalar(select(TaskExecution.last_seq)
                                 .where(TaskExecution.id == uuid.UUID(ex_id)))
    assert top == last_seq  # the final state's last_seq is the truth: nothing after it


def test_a_slow_database_is_not_taken_for_a_background_process(
        client, auth, ctx, dev, project, monkeypatch):
    """When the command exits while its output still waits in the pipe (the reader is behind a
    slow database), that output is read to the end: nothing is taken for a process left running
    in the background. In this process (the real job function, database, Redis, subprocess),
    with every batch made slow on purpose."""
    from app.jobs import output
    from app.jobs.tasks import run_execution
    from tests.jobs.fixtures import stdout_text

    slow = output.OutputWriter.flush

    def slow_flush(self, heartbeat=False):
        if self.pending:
            # The injected fault itself, not a wait: every batch takes longer to store than
            # ORPHAN_DRAIN_SECONDS (1), so the reader is still behind when the command exits.
            time.sleep(1.2)
        return slow(self, heartbeat)

    monkeypatch.setattr(output.OutputWriter, "flush", slow_flush)
    total = 9000  # ~250 KB, more than a pipe holds: the command exits with output unread
    task = task_for(project, dev, f"seq -f 'line %06g of the slow database' 1 {total}")
    ex_id = execute(client, auth(dev), task.id).get_json()["data"]["execution_id"]
    assert run_execution(ex_id) == "completed"
    data = wait_final(client, auth(dev), ex_id)
    assert stdout_text(data) == "".join(f"line {i:06d} of the slow database\n"
                                        for i in range(1, total + 1))
    assert [line for line in data["output"] if line["stream"] == "system"] == []
