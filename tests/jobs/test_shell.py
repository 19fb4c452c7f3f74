"""Shell tasks on real workers: exact output in order, stderr apart, exit codes, timeout,
sanitized environment, working directory checks, output cap."""

from __future__ import annotations

import pytest

from tests.jobs.fixtures import execute, make_task, stdout_text, wait_final

pytestmark = pytest.mark.slow


def test_shell_task_completes_with_exact_output_in_order(client, auth, dev, project, workers):
    workers(1)
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
