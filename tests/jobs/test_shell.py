"""Shell tasks on real workers: exact output in order, stderr apart, exit codes, timeout,
sanitized environment, working directory checks, output cap."""

from __future__ import annotations

import pytest

from tests.jobs.fixtures import execute, make_task, stdout_text, wait_final

pytestmark = pytest.mark.slow


def test_shell_task_completes_with_exact_output_in_order(client, auth, dev, project, workers):
    workers(1, SHELL_OUTPUT_STREAMS="separate")  # stderr kept apart (the default merges)
    task = make_task(project, dev, "for i in $(seq 1 3000); do echo \"line $i\"; done; "
                                   "echo oops >&2; printf 'no newline'")
    resp = execute(client, auth(dev), task.id)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()["data"]
    assert body["status"] == "queued" and body["execution_id"]
    data = wait_final(client, auth(dev), body["execution_id"])
    assert data["status"] == "completed" and data["exit_code"] == 0
    expected = "".join(f"line {i}\n" for i in range(1, 3001)) + "no newline"
    assert stdout_text(data) == expected
    assert stdout_text(data, "stderr") == "oops\n"
    seqs = [line["seq"] for line in data["output"]]
    assert seqs == list(range(1, len(seqs) + 1))
    task_resp = client.get(f"/api/tasks/{task.id}", headers=auth(dev)).get_json()["data"]
    assert task_resp["status"] == "completed"


def test_exit_code_failure_and_message(client, auth, dev, project, workers):
    workers(1)
    task = make_task(project, dev, "echo boom >&2; exit 3")
    ex_id = execute(client, auth(dev), task.id).get_json()["data"]["execution_id"]
    data = wait_final(client, auth(dev), ex_id)
    assert data["status"] == "failed" and data["exit_code"] == 3
    assert data["error"]["code"] == "TASK_EXECUTION_FAILED"
    assert "exited with code 3: boom" in data["error"]["message"]
    task_resp = client.get(f"/api/tasks/{task.id}", headers=auth(dev)).get_json()["data"]
    assert task_resp["status"] == "failed"


def test_timeout_fails_with_task_timeout_and_kills_the_group(client, auth, dev, project, workers):
    from tests.jobs.fixtures import marker, processes_with
    from tests.live import wait_for

    workers(1)
    tag = marker()
    task = make_task(project, dev, f"sleep {tag} & sleep {tag}")
    ex_id = execute(client, auth(dev), task.id, options={"timeout": 1}).get_json()[
        "data"]["execution_id"]
    data = wait_final(client, auth(dev), ex_id)
    assert data["status"] == "failed"
    assert data["error"]["code"] == "TASK_TIMEOUT"
    assert data["exit_code"] in (-15, -9)
    wait_for(lambda: not processes_with(tag), 5, message="the timed-out processes to be gone")


def test_environment_is_sanitized(client, auth, dev, project, workers, engine_env):
    workers(1)
    assert "SECRET_KEY" in engine_env and "DATABASE_URL" in engine_env  # the worker has them
    task = make_task(project, dev, "env", metadata={"environment": {"FROM_TASK": "t1"}})
    ex_id = execute(client, auth(dev), task.id,
                    options={"environment": {"FROM_REQUEST": "r1"}}).get_json()["data"][
        "execution_id"]
    data = wait_final(client, auth(dev), ex_id)
    assert data["status"] == "completed"
    names = {line.split("=", 1)[0] for line in stdout_text(data).splitlines() if "=" in line}
    assert {"FROM_TASK", "FROM_REQUEST", "PATH"} <= names
    for secret in ("SECRET_KEY", "JWT_SECRET_KEY", "DATABASE_URL", "REDIS_URL",
                   "TEST_DATABASE_URL", "INSTANCE_PATH", "ENGINE_HEARTBEAT_TTL"):
        assert secret not in names
    for value in (engine_env["SECRET_KEY"], engine_env["JWT_SECRET_KEY"]):
        assert value not in stdout_text(data)


def test_working_directory_escape_is_refused(client, auth, ctx, dev, project):
    from app.extensions import db
    from app.models.task import Task

    task = make_task(project, dev, "pwd")
    row = db.session.get(Task, task.id)
    row.working_directory = "../../etc"  # as if written before the check existed
    db.session.commit()
    resp = execute(client, auth(dev), task.id)
    assert resp.status_code == 422
    assert resp.get_json()["error"]["details"]["field"] == "working_directory"
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == "pending"


def test_runs_in_its_working_directory(client, auth, ctx, dev, project, workers):
    from app.services import workspace

    workers(1)
    (workspace.create(project.id) / "sub").mkdir()
    task = make_task(project, dev, "pwd", working_directory="sub")
    ex_id = execute(client, auth(dev), task.id).get_json()["data"]["execution_id"]
    data = wait_final(client, auth(dev), ex_id)
    assert stdout_text(data).strip() == str((workspace.project_dir(project.id) / "sub")
                                            .resolve())


def test_output_cap_truncates_once_and_the_process_goes_on(client, auth, dev, project, workers):
    workers(1, MAX_OUTPUT_BYTES=20000)
    task = make_task(project, dev, "seq 1 20000; echo done > finished.txt")
    ex_id = execute(client, auth(dev), task.id).get_json()["data"]["execution_id"]
    data = wait_final(client, auth(dev), ex_id)
    assert data["status"] == "completed" and data["output_truncated"] is True
    assert data["output_bytes"] <= 20000
    system = [line for line in data["output"] if line["stream"] == "system"]
    assert len(system) == 1 and "truncated" in system[0]["content"]
    text = stdout_text(data)
    assert text.startswith("1\n2\n3\n") and "19999" not in text
    from app.services import workspace

    assert (workspace.project_dir(project.id) / "finished.txt").read_text() == "done\n"


def test_background_processes_left_behind_are_stopped_and_the_run_ends(
        client, auth, dev, project, workers):
    """A command that exits leaving a child holding its output: the child is killed once the
    drain period is over, the run completes with the command's exit code and says why."""
    from tests.jobs.fixtures import marker, processes_with
    from tests.live import wait_for

    workers(1)
    tag = marker()
    task = make_task(project, dev, f"sleep {tag} & echo started")
    ex_id = execute(client, auth(dev), task.id).get_json()["data"]["execution_id"]
    data = wait_final(client, auth(dev), ex_id)
    assert data["status"] == "completed" and data["exit_code"] == 0
    assert stdout_text(data) == "started\n"
    system = [line["content"] for line in data["output"] if line["stream"] == "system"]
    assert any("left running in the background" in text for text in system), system
    wait_for(lambda: not processes_with(tag), 5, message="the background sleep to be gone")


def test_a_process_that_left_the_group_cannot_hold_the_worker(
        client, auth, dev, project, workers):
    """`setsid` takes a process out of the run's group, so the group's signals miss it. While it
    holds the output pipes it is found by them and killed, the run ends, and the worker is
    free for the next run."""
    from tests.jobs.fixtures import marker, processes_with
    from tests.live import wait_for

    workers(1)
    tag = marker()
    task = make_task(project, dev, f"setsid sleep {tag} & echo started")
    try:
        ex_id = execute(client, auth(dev), task.id).get_json()["data"]["execution_id"]
        data = wait_final(client, auth(dev), ex_id)
        assert data["status"] == "completed" and data["exit_code"] == 0
        assert stdout_text(data) == "started\n"
        system = [line["content"] for line in data["output"] if line["stream"] == "system"]
        assert any("1 process(es) that left the run's process group" in text
                   for text in system), system
        wait_for(lambda: not processes_with(tag), 5, message="the escaped sleep to be gone")
        after = make_task(project, dev, "echo next")
        next_id = execute(client, auth(dev), after.id).get_json()["data"]["execution_id"]
        assert stdout_text(wait_final(client, auth(dev), next_id)) == "next\n"
    finally:
        for proc in processes_with(tag):
            proc.kill()


def test_pipes_held_by_a_process_that_cannot_be_found_are_given_up(
        client, auth, ctx, dev, project, monkeypatch):
    """The last resort: if what holds the output cannot be found (no readable /proc), the run
    stops reading after a second more and ends all the same. Run in this process (the real
    job function, database, Redis and subprocess) so that the search can be switched off."""
    from app.jobs import runner
    from app.jobs.tasks import run_execution
    from tests.jobs.fixtures import marker, processes_with

    monkeypatch.setattr(runner, "_kill_holders", lambda fds: 0)
    tag = marker()
    task = make_task(project, dev, f"setsid sleep {tag} & echo started")
    ex_id = execute(client, auth(dev), task.id).get_json()["data"]["execution_id"]
    try:
        assert run_execution(ex_id) == "completed"
        data = wait_final(client, auth(dev), ex_id)
        assert stdout_text(data) == "started\n"
        system = [line["content"] for line in data["output"] if line["stream"] == "system"]
        assert any("no longer read" in text for text in system), system
        assert processes_with(tag)  # not found, so still running: the documented limit
    finally:
        for proc in processes_with(tag):
            proc.kill()


@pytest.mark.parametrize("command", [
    "echo out1; echo err1 >&2; echo out2",
    "for i in $(seq 1 200); do echo out$i; echo err$i >&2; done",
    "python3 -c \"import sys\nfor i in range(200):\n print('out', i, flush=True)\n"
    " print('err', i, file=sys.stderr, flush=True)\"",
])
def test_stdout_and_stderr_keep_the_order_they_were_written_in(client, auth, dev, project,
                                                                workers, command):
    """As in a terminal: one pipe for both (SHELL_OUTPUT_STREAMS=merged, the default)."""
    workers(1)
    task = make_task(project, dev, command)
    data = wait_final(client, auth(dev), execute(client, auth(dev), task.id)
                      .get_json()["data"]["execution_id"])
    assert data["status"] == "completed", data["error"]
    lines = [line["content"].strip().replace(" ", "") for line in data["output"]]
    if "out2" in command:
        assert lines == ["out1", "err1", "out2"]
    else:
        first = 1 if "seq" in command else 0
        assert lines == [f"{kind}{i}" for i in range(first, first + 200)
                         for kind in ("out", "err")]

