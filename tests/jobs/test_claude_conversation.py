"""A task's Claude runs as one conversation (follow-ups resume the session from its transcript in
the workspace) and live runs (a message to a running agent, an interrupt), with real workers
and the stand-in CLI (tests/fake_claude.py), which keeps transcripts like the real one."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import update

from tests.jobs.fixtures import execute, get_execution, make_task, wait_final
from tests.live import wait_for

pytestmark = pytest.mark.slow


def _start(client, headers, task) -> str:
    resp = execute(client, headers, task.id)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["data"]["execution_id"]


def _follow_up(client, headers, task, message: str, status: int = 200) -> dict:
    resp = client.post(f"/api/tasks/{task.id}/follow-up", json={"message": message},
                       headers=headers)
    assert resp.status_code == status, resp.get_json()
    body = resp.get_json()
    return body["data"] if status == 200 else body["error"]


def _texts(data: dict) -> list[str]:
    return [line["content"].rstrip("\n") for line in data["output"]
            if line.get("kind") == "text"]


def _history(client, headers, task) -> list[dict]:
    return client.get(f"/api/tasks/{task.id}/history", headers=headers).get_json()["data"][
        "history"]


def _config_dir(app, project) -> Path:
    with app.app_context():
        from app.services import conversation

        return conversation.config_dir(project.id)


def _output_has(client, headers, execution_id: str, text: str) -> bool:
    data = get_execution(client, headers, execution_id)
    return any(text in line["content"] for line in data["output"])


def test_follow_up_resumes_the_session_from_its_transcript(app, client, auth, dev, project,
                                                           workers):
    workers(1)
    h = auth(dev)
    task = make_task(project, dev, "Remember the word pelican", executor="claude")
    first = wait_final(client, h, _start(client, h, task))
    assert first["status"] == "completed", first["error"]
    session = first["claude"]["session_id"]
    assert first["claude"]["prompt"] == "Remember the word pelican"
    # The transcript is in the project's workspace, private to the space's account.
    config = _config_dir(app, project)
    transcripts = list((config / "projects").glob(f"*/{session}.jsonl"))
    assert len(transcripts) == 1 and (config / ".gitignore").read_text() == "*\n"
    assert config.stat().st_mode & 0o777 == 0o700
    if os.geteuid() == 0:
        assert config.stat().st_uid == transcripts[0].stat().st_uid != 0

    # The message starts with a dash: it is still the prompt (it goes on stdin).
    queued = _follow_up(client, h, task, "-rf what was the word? [scenario:recall]")
    assert queued["resume_session_id"] == session and queued["follow_up_of"] == first["id"]
    assert queued["run_number"] == 2
    second = wait_final(client, h, queued["execution_id"])
    assert second["status"] == "completed", second["error"]
    seen = json.loads(_texts(second)[0])
    assert seen["resume"] == session and seen["resumed"] == session
    assert seen["earlier_prompts"] == ["Remember the word pelican"]
    claude = second["claude"]
    assert claude["prompt"] == "-rf what was the word? [scenario:recall]"
    assert claude["resume_session_id"] == session and claude["follow_up_of"] == first["id"]
    assert claude["session_id"] == session
    assert second["run_directory"] == first["run_directory"]

    # A third turn continues the same conversation: both earlier prompts are in it.
    third = wait_final(client, h, _follow_up(client, h, task, "[scenario:recall] again")[
        "execution_id"])
    assert json.loads(_texts(third)[0])["earlier_prompts"] == [
        "Remember the word pelican", "-rf what was the word? [scenario:recall]"]
    created = [e for e in _history(client, h, task)
               if e["action"] == "status_changed" and e["details"].get("follow_up")]
    assert len(created) == 2  # each follow-up queued the task, said in its history


def test_follow_up_needs_a_conversation_and_a_message(client, auth, dev, project, viewer):
    h = auth(dev)
    task = make_task(project, dev, "never run", executor="claude")
    error = _follow_up(client, h, task, "go on", status=409)
    assert error["code"] == "CLAUDE_NO_SESSION" and "execute it first" in error["message"]
    shell = make_task(project, dev, "echo hi")
    assert _follow_up(client, h, shell, "go on", status=409)["code"] == "CLAUDE_NO_SESSION"
    for bad in ("", "   ", None, 5):
        resp = client.post(f"/api/tasks/{task.id}/follow-up", json={"message": bad}, headers=h)
        assert resp.status_code == 422, resp.get_json()
        assert resp.get_json()["error"]["details"]["field"] == "message"
    refused = client.post(f"/api/tasks/{task.id}/follow-up", json={"message": "go on"},
                          headers=auth(viewer))
    assert refused.status_code == 403


def test_follow_up_without_its_transcript_fails_clearly(app, client, auth, dev, project,
                                                        workers):
    workers(1)
    h = auth(dev)
    task = make_task(project, dev, "First words", executor="claude")
    first = wait_final(client, h, _start(client, h, task))
    session = first["claude"]["session_id"]
    shutil.rmtree(_config_dir(app, project) / "projects")  # the transcript is gone
    failed = wait_final(client, h, _follow_up(client, h, task, "go on")["execution_id"])
    assert failed["status"] == "failed" and failed["error"]["code"] == "CLAUDE_SESSION_NOT_FOUND"
    assert session in failed["error"]["message"] and "transcript" in failed["error"]["message"]
    assert failed["attempt"] == 1 and failed["exit_code"] is None  # never started, no retry


def test_the_cli_refusing_an_unknown_session_is_said_as_such(app, client, auth, dev, project,
                                                             workers):
    """The transcript exists, but not under the directory the run works in: the worker's
    check passes, the CLI refuses (like the real one) and the run says why."""
    workers(1)
    h = auth(dev)
    task = make_task(project, dev, "First words", executor="claude")
    first = wait_final(client, h, _start(client, h, task))
    session = first["claude"]["session_id"]
    transcript = next((_config_dir(app, project) / "projects").glob(f"*/{session}.jsonl"))
    elsewhere = transcript.parent.parent / "-somewhere-else"
    elsewhere.mkdir()
    transcript.rename(elsewhere / transcript.name)
    failed = wait_final(client, h, _follow_up(client, h, task, "go on")["execution_id"])
    assert failed["status"] == "failed" and failed["error"]["code"] == "CLAUDE_SESSION_NOT_FOUND"
    assert f"No conversation found with session ID: {session}" in failed["error"]["message"]


def test_a_worker_that_cannot_see_the_directory_refuses_the_resume(app, client, auth, dev,
                                                                   project, workers):
    workers(1)
    h = auth(dev)
    task = make_task(project, dev, "First words", executor="claude")
    first = wait_final(client, h, _start(client, h, task))
    gone = f"/nonexistent/{uuid.uuid4().hex}/workspace"
    with app.app_context():
        from app.extensions import db
        from app.models.execution import TaskExecution

        db.session.execute(update(TaskExecution).where(TaskExecution.id == uuid.UUID(first["id"]))
                           .values(run_directory=gone))
        db.session.commit()
    failed = wait_final(client, h, _follow_up(client, h, task, "go on")["execution_id"])
    assert failed["error"]["code"] == "CLAUDE_RESUME_UNAVAILABLE"
    assert gone in failed["error"]["message"] and "WORKSPACE_ROOT" in failed["error"]["message"]
    assert failed["status"] == "failed"


def test_a_message_reaches_the_running_agent(client, auth, dev, project, workers):
    workers(1)
    h = auth(dev)
    task = make_task(project, dev, "[scenario:wait]", executor="claude")
    eid = _start(client, h, task)
    wait_for(lambda: _output_has(client, h, eid, "Waiting"), 20, 0.05, "the agent to wait")
    resp = client.post(f"/api/executions/{eid}/messages", json={"message": "--also the tests"},
                       headers=h)
    assert resp.status_code == 202, resp.get_json()
    sent = resp.get_json()["data"]
    data = wait_final(client, h, eid)
    assert data["status"] == "completed", data["error"]
    prompts = [line for line in data["output"] if line.get("kind") == "prompt"]
    assert [p["content"] for p in prompts] == ["--also the tests\n"]
    assert prompts[0]["data"]["message_id"] == sent["message_id"]
    assert "You said: --also the tests" in _texts(data)
    assert [line["content"] for line in data["output"] if line.get("kind") == "result"] == [
        "done waiting\n", "Replied.\n"]
    entry = next(e for e in _history(client, h, task) if e["action"] == "message_sent")
    assert entry["details"]["message"] == "--also the tests" and entry["user_id"] == str(dev.id)
    # Finished: nothing more can be sent; a follow-up is the way on.
    late = client.post(f"/api/executions/{eid}/messages", json={"message": "hello?"}, headers=h)
    assert late.status_code == 409 and late.get_json()["error"]["code"] == \
        "EXECUTION_NOT_RUNNING"


def test_interrupt_ends_the_turn_and_the_conversation_goes_on(client, auth, dev, project,
                                                               workers):
    workers(1)
    h = auth(dev)
    task = make_task(project, dev, "[scenario:slow] count", executor="claude")
    eid = _start(client, h, task)
    wait_for(lambda: _output_has(client, h, eid, "tick 2"), 20, 0.05, "a few ticks")
    resp = client.post(f"/api/executions/{eid}/interrupt", json={}, headers=h)
    assert resp.status_code == 202, resp.get_json()
    data = wait_final(client, h, eid)
    assert data["status"] == "cancelled"
    assert data["cancel_reason"].startswith("interrupted by")
    assert "Follow up" in data["error"]["message"]
    assert "[Request interrupted by user]" in _texts(data)
    assert data["claude"]["subtype"] == "error_during_execution"
    assert not any("tick 299" in t for t in _texts(data))
    actions = [e["action"] for e in _history(client, h, task)]
    assert "interrupt_requested" in actions
    follow = wait_final(client, h, _follow_up(client, h, task, "[scenario:recall]")[
        "execution_id"])
    assert json.loads(_texts(follow)[0])["earlier_prompts"] == ["[scenario:slow] count"]


def test_interrupt_with_a_message_redirects_the_agent(client, auth, dev, project, workers):
    workers(1)
    h = auth(dev)
    task = make_task(project, dev, "[scenario:slow] count", executor="claude")
    eid = _start(client, h, task)
    wait_for(lambda: _output_has(client, h, eid, "tick 1"), 20, 0.05, "a tick")
    resp = client.post(f"/api/executions/{eid}/interrupt", json={"message": "stop counting"},
                       headers=h)
    assert resp.status_code == 202, resp.get_json()
    data = wait_final(client, h, eid)
    assert data["status"] == "completed", data["error"]
    assert "You said: stop counting" in _texts(data)
    assert data["claude"]["subtype"] == "success" and data["claude"]["result"] == "Replied."
