"""The claude executor against a fake CLI that writes the real stream-json format."""

from __future__ import annotations

import json
import os

import pytest

from tests.jobs.fixtures import execute, make_task, wait_final

pytestmark = pytest.mark.slow


def _run(client, auth, dev, project, prompt, **task_kwargs):
    task = make_task(project, dev, prompt, executor="claude", **task_kwargs)
    resp = execute(client, auth(dev), task.id)
    assert resp.status_code == 200, resp.get_json()
    return wait_final(client, auth(dev), resp.get_json()["data"]["execution_id"])


def test_success_records_result_fields_and_events(client, auth, dev, project, workers):
    workers(1)
    data = _run(client, auth, dev, project, "List the files [scenario:success]")
    assert data["status"] == "completed" and data["exit_code"] == 0
    claude = data["claude"]
    assert claude["cost_usd"] == pytest.approx(0.0123) and claude["num_turns"] == 3
    assert claude["duration_ms"] == 2345 and claude["session_id"]
    assert claude["result"] == "Listed 2 files."
    kinds = [line.get("kind", "line") for line in data["output"]]
    assert kinds == ["system", "text", "tool_use", "tool_result", "result"]
    tool = data["output"][2]
    assert tool["data"]["name"] == "Bash" and tool["data"]["input"]["command"] == "ls"
    assert data["output"][3]["content"] == "README.md\nsrc\n"


def test_flags_prompt_and_cwd(client, auth, dev, project, workers):
    workers(1)
    data = _run(client, auth, dev, project, None, title="Check [scenario:args]",
                description="Use the flags",
                metadata={"claude": {"model": "opus", "max_turns": 5,
                                     "permission_mode": "acceptEdits",
                                     "allowed_tools": ["Bash", "Read"]}})
    assert data["status"] == "completed"
    seen = json.loads(next(line["content"] for line in data["output"]
                           if line.get("kind") == "text"))
    argv = seen["argv"]
    assert argv[:5] == ["-p", "--output-format=stream-json", "--verbose",
                        "--input-format=stream-json", "--permission-prompt-tool=stdio"]
    assert argv[-1] == "--"  # no positional argument: the prompt came on stdin
    assert seen["prompt"] == "Check [scenario:args]\n\nUse the flags"
    for flag in ("--model=opus", "--max-turns=5", "--permission-mode=acceptEdits",
                 "--allowedTools=Bash,Read"):
        assert flag in argv[5:-1]
    assert not any(arg.startswith("--resume") for arg in argv)  # a fresh conversation
    assert seen["cwd"].endswith(str(project.id)) and data["run_directory"] == seen["cwd"]
    assert seen["config_dir"] == os.path.join(seen["cwd"], ".claude-config")


def test_error_result_fails_with_the_cli_message(client, auth, dev, project, workers):
    workers(1)
    data = _run(client, auth, dev, project, "[scenario:error]")
    assert data["status"] == "failed" and data["exit_code"] == 1
    assert data["error"]["code"] == "TASK_EXECUTION_FAILED"
    assert "Not logged in" in data["error"]["message"]
    data = _run(client, auth, dev, project, "[scenario:max_turns]")
    assert data["status"] == "failed" and "error_max_turns" in data["error"]["message"]


def test_garbage_line_is_kept_as_plain_output(client, auth, dev, project, workers):
    workers(1)
    data = _run(client, auth, dev, project, "[scenario:garbage]")
    assert data["status"] == "completed"
    plain = [line for line in data["output"] if "kind" not in line]
    assert [p["content"] for p in plain] == ["(node:123) ExperimentalWarning: this is not JSON\n"]


def test_missing_result_line_fails(client, auth, dev, project, workers):
    workers(1)
    data = _run(client, auth, dev, project, "[scenario:no_result]")
    assert data["status"] == "failed" and data["exit_code"] == 137
    assert "without a result line" in data["error"]["message"]


def test_missing_binary_fails_without_crashing_the_worker(client, auth, dev, project, workers):
    worker, = workers(1, CLAUDE_CLI_PATH="/nonexistent/claude")
    data = _run(client, auth, dev, project, "hello")
    assert data["status"] == "failed"
    assert "Claude CLI not found" in data["error"]["message"]
    assert worker.proc.poll() is None
    shell = make_task(project, dev, "echo still alive")
    ex_id = execute(client, auth(dev), shell.id).get_json()["data"]["execution_id"]
    assert wait_final(client, auth(dev), ex_id)["status"] == "completed"


def test_a_prompt_that_looks_like_an_option_stays_the_prompt(client, auth, dev, project,
                                                             workers):
    workers(1)
    data = _run(client, auth, dev, project, "--model=evil [scenario:args]")
    assert data["status"] == "completed"
    seen = json.loads(next(line["content"] for line in data["output"]
                           if line.get("kind") == "text"))
    assert seen["prompt"] == "--model=evil [scenario:args]" and seen["argv"][-1] == "--"
    assert not any(arg.startswith("--model") for arg in seen["argv"])
