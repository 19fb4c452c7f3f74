"""The SDK's conversation methods against a live server and a real worker (stand-in CLI):
follow_up, send_message, approvals and decide."""

from __future__ import annotations

import pytest
from claude_cli_sdk import ClaudeCliClient, ConflictError

from tests.live import wait_for

pytestmark = pytest.mark.slow
FINAL = ("completed", "failed", "cancelled")


def test_follow_up_message_and_approval_through_the_sdk(live_server, dev, workers):
    workers(1)
    client = ClaudeCliClient(base_url=f"{live_server}/api")
    client.login(dev.username, dev.password)
    project = client.projects.create(name="SDK conversation")

    def final(execution_id):
        return wait_for(lambda: (lambda ex: ex if ex.status in FINAL else None)(
            client.executions.get(execution_id)), 30, 0.1, "the run to end")

    task = client.tasks.create(title="Talk", project_id=project.id, executor="claude",
                               command="[scenario:wait]")
    run = client.tasks.execute(task.id)
    wait_for(lambda: any("Waiting" in line["content"] for line in
                         client.executions.get(run.execution_id)["output"]), 20, 0.1,
             "the agent to wait")
    sent = client.executions.send_message(run.execution_id, "and the changelog")
    assert sent.status == "sent"
    first = final(run.execution_id)
    assert first.status == "completed" and first.claude.session_id
    assert any(line["content"] == "You said: and the changelog\n" for line in first["output"])

    with pytest.raises(ConflictError) as ended:
        client.executions.send_message(run.execution_id, "too late")
    assert ended.value.code == "EXECUTION_NOT_RUNNING"

    follow = client.tasks.follow_up(task.id, "[scenario:approval] now clean up")
    assert follow.resume_session_id == first.claude.session_id
    pending = wait_for(lambda: [a for a in client.executions.approvals(follow.execution_id)
                                if a.status == "pending"], 20, 0.1, "a permission request")
    decided = client.executions.decide(pending[0].id, "deny", "not today")
    assert decided.status == "denied" and decided.message == "not today"
    second = final(follow.execution_id)
    assert second.status == "completed" and second.warning.startswith("Completed, but Claude")
    assert second.claude.resume_session_id == first.claude.session_id
