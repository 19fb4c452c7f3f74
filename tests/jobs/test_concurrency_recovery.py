"""Per-project concurrency with many workers, and recovery from dead or stopped workers."""

from __future__ import annotations

import itertools
import json
import signal

import pytest

from tests import factories
from tests.jobs.fixtures import (
    execute,
    get_execution,
    make_task,
    marker,
    processes_with,
    wait_final,
)
from tests.live import wait_for

pytestmark = pytest.mark.slow


def test_cap_of_one_holds_with_three_workers_and_keeps_order(client, auth, ctx, dev, workers):
    project = factories.project(dev, resource_limits={"max_concurrent_tasks": 1})
    other = factories.project(dev)
    workers(3)
    tasks = [make_task(project, dev, f"echo start {i}; sleep 0.4; echo end {i}")
             for i in range(5)]
    free = make_task(other, dev, "sleep 0.2")
    ids = [execute(client, auth(dev), tasks[0].id).get_json()["data"]["execution_id"]]
    wait_for(lambda: get_execution(client, auth(dev), ids[0])["status"] == "running", 10)
    # the surplus waits, then runs in the order it was submitted
    ids += [execute(client, auth(dev), t.id).get_json()["data"]["execution_id"]
            for t in tasks[1:]]
    free_id = execute(client, auth(dev), free.id).get_json()["data"]["execution_id"]
    runs = [wait_final(client, auth(dev), i, 40) for i in ids]
    assert all(r["status"] == "completed" for r in runs)
    spans = sorted((r["started_at"], r["finished_at"]) for r in runs)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start, f"two runs of a capped project overlapped: {spans}"
    assert [r["started_at"] for r in runs] == sorted(r["started_at"] for r in runs)
    # the other project was never held back by the first one's cap
    free_run = wait_final(client, auth(dev), free_id)
    assert free_run["started_at"] < runs[-1]["started_at"]


def test_sigkilled_worker_is_reaped_and_its_slot_freed(client, auth, ctx, dev, workers):
    project = factories.project(dev, resource_limits={"max_concurrent_tasks": 1})
    tag = marker()
    victim, = workers(1)
    task = make_task(project, dev, f"sleep {tag}")
    ex_id = execute(client, auth(dev), task.id).get_json()["data"]["execution_id"]
    wait_for(lambda: processes_with(tag), 10, message="the task to start")
    waiting = make_task(project, dev, "echo after")
    next_id = execute(client, auth(dev), waiting.id).get_json()["data"]["execution_id"]
    from app.extensions import get_redis

    events = get_redis().pubsub()
    events.subscribe("events")
    victim.kill()  # SIGKILL: no cleanup at all
    workers(1)  # a live worker reaps on start and every second
    data = wait_final(client, auth(dev), ex_id, 60)
    assert data["status"] == "failed" and data["error"]["code"] == "WORKER_LOST"
    wait_for(lambda: not processes_with(tag), 10, message="the orphaned sleep to be killed")
    after = wait_final(client, auth(dev), next_id, 30)
    assert after["status"] == "completed"  # the slot was freed

    def alert():
        msg = events.get_message(timeout=0.2)
        while msg:
            event = json.loads(msg["data"]) if msg["type"] == "message" else {}
            if event.get("event") == "system.alert":
                # Seen by every system subscriber: it names the worker, never the run/project.
                assert event["data"]["title"] == "Worker lost" and event["data"]["worker"]
                assert str(project.id) not in msg["data"].decode()
                assert ex_id not in msg["data"].decode()
                return True
            msg = events.get_message(timeout=0.01)
        return False

    wait_for(alert, 10, message="a system.alert about the lost worker")
    events.close()


def test_sigterm_to_worker_stops_the_run_and_leaves_nothing(client, auth, dev, project, workers):
    tag = marker()
    worker, = workers(1)
    task = make_task(project, dev, f"sleep {tag} & sleep {tag}")
    ex_id = execute(client, auth(dev), task.id).get_json()["data"]["execution_id"]
    wait_for(lambda: len(processes_with(tag)) >= 2, 10, message="the sleeps to start")
    worker.proc.send_signal(signal.SIGTERM)
    worker.proc.wait(15)
    data = get_execution(client, auth(dev), ex_id)
    assert data["status"] == "failed" and data["error"]["code"] == "WORKER_SHUTDOWN"
    assert not processes_with(tag)
