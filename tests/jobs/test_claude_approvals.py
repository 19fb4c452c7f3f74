"""Permission requests of a running Claude run (`--permission-prompt-tool=stdio`): allowed,
denied with a message, and denied by the timeout, each in the task's history and published;
and what each result subtype and permission denials make of a run (outcome truth). Real
workers and the stand-in CLI."""

from __future__ import annotations

import json
import threading

import pytest

from tests.jobs.fixtures import execute, make_task, wait_final
from tests.live import wait_for

pytestmark = pytest.mark.slow


def _start(client, headers, task) -> str:
    resp = execute(client, headers, task.id)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["data"]["execution_id"]


def _approvals(client, headers, execution_id) -> list[dict]:
    resp = client.get(f"/api/executions/{execution_id}/approvals", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["data"]["items"]


def _pending(client, headers, execution_id) -> dict:
    return wait_for(lambda: next((a for a in _approvals(client, headers, execution_id)
                                  if a["status"] == "pending"), None),
                    20, 0.05, "a pending permission request")


def _decide(client, headers, approval_id, **body):
    return client.post(f"/api/approvals/{approval_id}/decision", json=body, headers=headers)


def _history(client, headers, task) -> list[dict]:
    return [e for e in client.get(f"/api/tasks/{task.id}/history", headers=headers)
            .get_json()["data"]["history"] if e["details"].get("field") == "approval"]


class Events:
    """Every event published on Redis while the test runs (a real subscriber)."""

    def __init__(self, app) -> None:
        with app.app_context():
            from app.extensions import get_redis

            self.sub = get_redis().pubsub()
        self.sub.subscribe("events")
        self.seen: list[dict] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while not self.stop.is_set():
            msg = self.sub.get_message(timeout=0.1)
            if msg and msg["type"] == "message":
                self.seen.append(json.loads(msg["data"]))

    def approvals(self) -> list[tuple[str, str]]:
        return [(e["event"], e["data"]["approval"]["status"]) for e in list(self.seen)
                if "approval" in e["data"]]

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.sub.close()


@pytest.fixture
def events(app):
    listener = Events(app)
    yield listener
    listener.close()


def test_allowed_from_the_api(client, auth, dev, project, workers, events):
    workers(1)
    h = auth(dev)
    task = make_task(project, dev, "[scenario:approval]", executor="claude")
    eid = _start(client, h, task)
    pending = _pending(client, h, eid)
    assert pending["tool_name"] == "Bash" and pending["tool_input"]["command"] == "rm -rf build"
    assert pending["expires_at"] > pending["requested_at"]
    resp = _decide(client, h, pending["id"], decision="allow")
    assert resp.status_code == 200, resp.get_json()
    decided = resp.get_json()["data"]
    assert decided["status"] == "allowed" and decided["decided_by"] == str(dev.id)
    data = wait_final(client, h, eid)
    assert data["status"] == "completed" and data["warning"] is None, data["error"]
    kinds = [(line.get("kind"), line["content"]) for line in data["output"]]
    assert ("tool_result", "ran: rm -rf build\n") in kinds
    allowed = [c for k, c in kinds if k == "permission"]
    assert allowed[0].startswith("Permission requested: Bash rm -rf build")
    assert allowed[1].startswith("Allowed by")
    history = _history(client, h, task)
    assert [(e["action"], e["details"]["new_value"]) for e in history] == [
        ("approval_requested", "pending"), ("approval_allowed", "allowed")]
    assert history[1]["user_id"] == str(dev.id) and history[1]["timestamp"]
    wait_for(lambda: ("task.updated", "allowed") in events.approvals(), 5, 0.05,
             "the decision to be published")
    assert ("task.updated", "pending") in events.approvals()
    assert ("execution.updated", "pending") in events.approvals()
    again = _decide(client, h, pending["id"], decision="deny")
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "APPROVAL_ALREADY_DECIDED"


def test_denied_with_a_message_completes_with_a_warning(client, auth, dev, project, workers,
                                                        viewer, make_user, events):
    workers(1)
    h = auth(dev)
    task = make_task(project, dev, "[scenario:approval]", executor="claude")
    eid = _start(client, h, task)
    pending = _pending(client, h, eid)
    assert _decide(client, auth(viewer), pending["id"], decision="deny").status_code == 403
    stranger = make_user(role="developer")
    assert _decide(client, auth(stranger), pending["id"], decision="allow").status_code == 403
    assert _decide(client, h, pending["id"], decision="maybe").status_code == 422
    resp = _decide(client, h, pending["id"], decision="deny", message="Not on the build dir")
    assert resp.status_code == 200, resp.get_json()
    data = wait_final(client, h, eid)
    assert data["status"] == "completed", data["error"]
    assert data["warning"] == ("Completed, but Claude was denied 1 tool use: "
                               "Bash (rm -rf build)")
    denials = data["claude"]["permission_denials"]
    assert [d["tool_name"] for d in denials] == ["Bash"]
    texts = [line["content"] for line in data["output"] if line.get("kind") == "text"]
    assert "I did not run it: Not on the build dir\n" in texts
    entry = _history(client, h, task)[-1]
    assert entry["action"] == "approval_denied"
    assert entry["details"]["message"] == "Not on the build dir"
    wait_for(lambda: ("task.updated", "denied") in events.approvals(), 5, 0.05,
             "the denial to be published")


def test_no_answer_in_time_denies_it(client, auth, dev, project, workers):
    workers(1, APPROVAL_TIMEOUT_SECONDS="1")
    h = auth(dev)
    task = make_task(project, dev, "[scenario:approval]", executor="claude")
    eid = _start(client, h, task)
    data = wait_final(client, h, eid)
    assert data["status"] == "completed" and data["warning"].startswith(
        "Completed, but Claude was denied 1 tool use"), data
    approval, = _approvals(client, h, eid)
    assert approval["status"] == "expired" and approval["decided_by"] is None
    assert "within 1 seconds" in approval["message"]
    texts = [line["content"] for line in data["output"] if line.get("kind") == "text"]
    assert any("denied automatically" in t for t in texts)  # Claude was told why
    entry = _history(client, h, task)[-1]
    assert entry["action"] == "approval_expired" and entry["user_id"] is None
    late = _decide(client, h, approval["id"], decision="allow")
    assert late.status_code == 409 and late.get_json()["error"]["code"] == \
        "APPROVAL_ALREADY_DECIDED"


# ---------------------------------------------------------------- outcome truth

OUTCOMES = {
    "max_turns": ("failed", "error_max_turns", "turn limit (error_max_turns) after 3 turns"),
    "max_budget": ("failed", "error_max_budget_usd",
                   "spending limit (error_max_budget_usd) after $0.0123"),
    "exec_error": ("failed", "error_during_execution",
                   "error during execution (error_during_execution): API error: Overloaded"),
    "error": ("failed", "success", "Claude CLI error (success): Not logged in"),
}


def test_each_result_subtype_decides_the_outcome(client, auth, dev, project, workers):
    workers(2)
    h = auth(dev)
    runs = {}
    for scenario in (*OUTCOMES, "denied", "success"):
        task = make_task(project, dev, f"[scenario:{scenario}]", executor="claude")
        runs[scenario] = _start(client, h, task)
    for scenario, (status, subtype, message) in OUTCOMES.items():
        data = wait_final(client, h, runs[scenario])
        assert data["status"] == status and data["claude"]["subtype"] == subtype, scenario
        assert data["error"]["code"] == "TASK_EXECUTION_FAILED"
        assert message in data["error"]["message"], (scenario, data["error"]["message"])
        assert data["warning"] is None
    denied = wait_final(client, h, runs["denied"])
    assert denied["status"] == "completed" and denied["error"] is None
    assert denied["warning"] == "Completed, but Claude was denied 1 tool use: Bash (rm -rf build)"
    assert denied["claude"]["permission_denials"][0]["tool_input"]["command"] == "rm -rf build"
    ok = wait_final(client, h, runs["success"])
    claude = ok["claude"]
    assert ok["status"] == "completed" and ok["warning"] is None
    assert claude["subtype"] == "success" and claude["permission_denials"] == []
    assert claude["model_usage"] == {"claude-fake-1": {"inputTokens": 92, "outputTokens": 43,
                                                       "costUSD": 0.0123}}
    assert claude["usage"]["output_tokens"] == 43 and claude["num_turns"] == 3
