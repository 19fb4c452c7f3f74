"""What a run leaves behind after the engine's hot path went to row-level statements and folded
round trips (app/services/execution_lifecycle.py, engine_sql.py, app/jobs/worker.py): the same
rows, history, events, slot release and cached totals as before, with a real worker."""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa

from app.extensions import db, get_redis
from app.models.audit import AuditLog
from app.models.execution import TaskExecution
from app.models.task import Task
from app.services import concurrency, run_control
from tests.jobs.fixtures import execute, make_task, wait_final
from tests.live import wait_for


@pytest.fixture(autouse=True)
def _many_requests(app, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_USER", "100000/minute")


def history(entity_type: str, entity_id) -> list[tuple]:
    rows = db.session.query(AuditLog).filter_by(entity_type=entity_type, entity_id=entity_id) \
        .order_by(AuditLog.created_at, AuditLog.id).all()
    return [(r.action, r.old_value, r.new_value, r.details) for r in rows]


def events_during(run) -> list[dict]:
    sub = get_redis().pubsub()
    sub.subscribe("events")
    sub.get_message(timeout=1)
    run()
    seen = []
    while (msg := sub.get_message(timeout=0.5)) is not None:
        if msg["type"] == "message":
            seen.append(json.loads(msg["data"]))
    sub.close()
    return seen


def test_a_run_is_recorded_in_full(client, auth, ctx, dev, project, workers):
    workers(1)
    task = make_task(project, dev, "echo hi; exit 3")
    ok = make_task(project, dev, "true")
    headers = auth(dev)
    results = {}

    def run():
        for t in (task, ok):
            ex_id = execute(client, headers, t.id).get_json()["data"]["execution_id"]
            results[t.id] = wait_final(client, headers, ex_id)

    seen = events_during(run)
    failed, done = results[task.id], results[ok.id]
    assert failed["status"] == "failed" and failed["exit_code"] == 3
    assert done["status"] == "completed" and done["exit_code"] == 0
    db.session.expire_all()
    row = db.session.get(Task, ok.id)
    assert row.status == "completed" and row.progress_percentage == 100
    assert row.started_at is not None and row.completed_at is not None
    assert row.actual_duration is not None and row.actual_duration >= 0
    assert db.session.get(Task, task.id).status == "failed"
    ex = db.session.get(TaskExecution, uuid.UUID(done["execution_id"]))
    assert ex.started_at <= ex.finished_at and ex.worker_name and ex.pid

    # history: the task and the execution, every step, in order
    steps = [(a, o, n) for a, o, n, _ in history("task", ok.id) if a == "status_changed"]
    assert steps == [("status_changed", "pending", "queued"),
                     ("status_changed", "queued", "running"),
                     ("status_changed", "running", "completed")]
    details = [d for a, _, _, d in history("task", ok.id) if a == "status_changed"]
    assert details[1]["execution_id"] == details[2]["execution_id"] == done["execution_id"]
    ex_steps = [(a, o, n) for a, o, n, _ in history("execution", ex.id)]
    assert ex_steps == [("created", None, "queued"), ("status_changed", "queued", "running"),
                        ("status_changed", "running", "completed")]
    assert history("execution", ex.id)[2][3]["exit_code"] == 0

    # events: each change announced once, in order, with the right scope
    mine = [(e["event"], e["data"].get("status")) for e in seen
            if e["scope"].get("task_id") == str(ok.id)]
    assert mine == [("execution.updated", "queued"), ("task.updated", "queued"),
                    ("task.updated", "running"), ("execution.updated", "running"),
                    ("task.updated", "completed"), ("task.completed", "completed"),
                    ("execution.updated", "completed")] or mine == [
                    ("task.updated", "queued"), ("execution.updated", "queued"),
                    ("task.updated", "running"), ("execution.updated", "running"),
                    ("task.updated", "completed"), ("task.completed", "completed"),
                    ("execution.updated", "completed")]
    assert ("task.failed", "failed") in [(e["event"], e["data"].get("status")) for e in seen
                                         if e["scope"].get("task_id") == str(task.id)]

    # the slot is free and the run unregistered
    wait_for(lambda: not concurrency.holders(project.id), 10, message="the slot to be freed")
    assert run_control.active_runs() == {}


def test_runs_move_cached_totals(client, auth, ctx, dev, project, workers):
    """A total cached before a run is never served once the run's changes are committed."""
    workers(1)
    headers = auth(dev)
    tasks = [make_task(project, dev, "true") for _ in range(3)]

    def total(**params) -> int:
        resp = client.get("/api/tasks/", headers=headers, query_string={"page_size": 1,
                                                                         **params})
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()["data"]["total"]

    counted: list[str] = []

    def listen(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT COUNT"):
            counted.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", listen)
    try:
        assert total(status="pending") == 3 and total(status="completed") == 0
        for done, task in enumerate(tasks, 1):
            ex_id = execute(client, headers, task.id).get_json()["data"]["execution_id"]
            assert wait_final(client, headers, ex_id)["status"] == "completed"
            assert total(status="completed") == done
            assert total(status="pending") == 3 - done
            assert total(project_id=str(project.id), status="completed") == done
            # and once the run is over, its marks are gone: totals come from the cache again
            wait_for(lambda: not concurrency.holders(project.id), 10, message="slot freed")
            total(status="completed")
            before = len(counted)
            assert total(status="completed") == done
            assert len(counted) == before, "served from the cache"
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listen)
