"""Redis going away for real under workers and runs (a redis-server of the test's own, stopped
and started again): workers wait and come back, a running run finishes normally with all its
output, and queued runs whose job Redis lost are queued again."""

from __future__ import annotations

import pytest

from tests.jobs.faults import full_log, status_of, stored
from tests.jobs.fixtures import execute, make_task, wait_final
from tests.live import ThreadedServer, wait_for
from tests.realtime.wsclient import WS

pytestmark = pytest.mark.slow


def _health(client) -> dict:
    return client.get("/api/health/detailed").get_json()["data"]


def test_worker_waits_out_a_redis_outage_and_health_recovers(outage, auth, dev, project,
                                                             workers):
    fault = outage(persist=False)
    worker, = workers(1, REDIS_URL=fault.url)
    wait_for(lambda: _health(fault.client)["checks"]["workers"].get("total") == 1, 10,
             message="health to count the worker")

    fault.stop_redis()
    wait_for(lambda: "Redis unavailable" in full_log(worker), 20, message="the worker to notice")
    wait_for(lambda: "engine maintenance waits for Redis" in full_log(worker), 20,
             message="the worker's maintenance to wait too")
    assert worker.proc.poll() is None, worker.log()
    assert _health(fault.client)["checks"]["redis"]["status"] == "unhealthy"

    fault.start_redis()  # empty: the worker's registration is gone with the data
    wait_for(lambda: "registered again" in full_log(worker), 20,
             message="the worker to register again")
    report = wait_for(lambda: (lambda h: h if h["status"] == "healthy" else None)(
        _health(fault.client)), 20, 0.2, "health to recover")
    assert report["checks"]["workers"]["total"] == 1
    assert worker.proc.poll() is None

    # and it works: a task executed through the recovered Redis runs on it
    task = make_task(project, dev, "echo after the outage")
    ex_id = execute(fault.client, auth(dev), task.id).get_json()["data"]["execution_id"]
    data = wait_final(fault.client, auth(dev), ex_id, 30)
    assert data["status"] == "completed", data
    assert [line["content"] for line in data["output"]] == ["after the outage\n"]


def test_running_run_survives_a_redis_outage(outage, auth, ctx, dev, project, workers,
                                             session_of):
    """Output keeps being stored while Redis is away (longer than the heartbeat TTL), the other
    worker's reaper does not take the run for lost when Redis is back with its expired
    heartbeat, the run completes normally, and a socket that watched it gets every line once,
    in order, then `command_completed`."""
    fault = outage(persist=True)  # comes back with the run's record and an expired heartbeat
    workers(2, REDIS_URL=fault.url)
    total = 150
    task = make_task(project, dev, f"for i in $(seq 1 {total}); do echo line $i; sleep 0.05; "
                                   "done")
    web = ThreadedServer(fault.app).start()
    try:
        ex_id = execute(fault.client, auth(dev), task.id).get_json()["data"]["execution_id"]
        ws = WS(web.url, session_of(dev))
        ws.send(type="authenticate", token=auth(dev)["Authorization"].split()[1])
        ws.expect("authenticated")
        ws.send(type="subscribe", channel="command_output", execution_id=ex_id)
        ws.expect("subscribed")
        wait_for(lambda: stored("execution", ex_id)[1] >= 5, 20, message="the first lines")

        fault.stop_redis()
        before = stored("execution", ex_id)[1]
        # stored while Redis is away, for longer than the heartbeat TTL (3 s: 60+ lines)
        wait_for(lambda: stored("execution", ex_id)[1] >= before + 70, 30,
                 message="output to be stored while Redis is away")
        assert status_of("execution", ex_id) == "running"
        fault.start_redis()

        data = wait_final(fault.client, auth(dev), ex_id, 60)
        assert data["status"] == "completed", data
        assert data["exit_code"] == 0
        assert [line["content"] for line in data["output"]] == [
            f"line {i}\n" for i in range(1, total + 1)]

        seqs = []
        while (message := ws.recv(30))["type"] != "command_completed":
            if message["type"] == "command_output":
                seqs.append(message["data"]["seq"])
        assert seqs == list(range(1, total + 1))
        assert message["data"]["status"] == "completed"
        assert message["data"]["last_seq"] == total
        ws.ws.close()
    finally:
        from app.realtime.hub import get_hub

        hub = get_hub(fault.app)
        wait_for(lambda: not hub.subscribers(), 10, message="the socket to close")
        web.stop()


def test_queued_runs_whose_job_vanished_are_queued_again(outage, auth, ctx, dev, project,
                                                        workers):
    """Redis restarted without persistence loses the queued jobs; the runs stay `queued` in
    the database, and the reaper queues them again, oldest first."""
    fault = outage(persist=False)
    tasks = [make_task(project, dev, f"echo run {i}") for i in range(3)]
    ids = [execute(fault.client, auth(dev), t.id).get_json()["data"]["execution_id"]
           for t in tasks]
    fault.stop_redis()
    fault.start_redis()  # the jobs are gone; nothing in Redis knows these runs
    assert all(status_of("execution", i) == "queued" for i in ids)

    workers(1, REDIS_URL=fault.url, STRANDED_AFTER_SECONDS="1")
    runs = [wait_final(fault.client, auth(dev), i, 30) for i in ids]
    assert [r["status"] for r in runs] == ["completed"] * 3
    assert [r["output"][0]["content"] for r in runs] == [f"run {i}\n" for i in range(3)]
    assert [r["started_at"] for r in runs] == sorted(r["started_at"] for r in runs)


def test_a_run_whose_job_keeps_vanishing_fails_with_a_clear_error(outage, auth, ctx, dev,
                                                                  project, workers):
    fault = outage(persist=False)
    task = make_task(project, dev, "echo never")
    ex_id = execute(fault.client, auth(dev), task.id).get_json()["data"]["execution_id"]
    fault.stop_redis()
    fault.start_redis()
    with fault.app.app_context():
        from app.extensions import get_redis
        from app.services import run_control

        # as if it had been queued again three times already
        get_redis().set(f"engine:requeued:{run_control.owner_key('execution', ex_id)}", 3)
    workers(1, REDIS_URL=fault.url, STRANDED_AFTER_SECONDS="1",
            STRANDED_MAX_REQUEUES="3")
    data = wait_final(fault.client, auth(dev), ex_id, 30)
    assert data["status"] == "failed"
    assert data["error"]["code"] == "TASK_EXECUTION_FAILED"
    assert "disappeared" in data["error"]["message"]
