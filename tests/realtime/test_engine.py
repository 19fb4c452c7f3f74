"""With the real engine: commands and tasks run by a real worker (`worker.py`) while sockets
watch. A late joiner during a fast-printing command gets every line exactly once, in order."""

from __future__ import annotations

import uuid

import pytest

from tests.live import wait_for

pytestmark = pytest.mark.slow

LINES = 3000
HALF = LINES // 2
# Prints LINES numbered lines; after the first half it waits (30 s at most) for a file `go` in
# its directory, which the test creates once its late joiners are in: they join mid-run for sure.
PRINTER = (f"for i in $(seq 1 {HALF}); do echo line $i; done; n=0; "
           "while [ ! -e go ] && [ $n -lt 3000 ]; do sleep 0.01; n=$((n+1)); done; "
           f"for i in $(seq {HALF + 1} {LINES}); do echo line $i; done")


def test_late_joiners_during_a_fast_printing_command(app, client, auth, connect, developer,
                                                     start_worker):
    start_worker(queues="high")
    resp = client.post("/api/commands/execute", json={"command": PRINTER},
                       headers=auth(developer))
    assert resp.status_code in (200, 201, 202), resp.json
    command_id = resp.json["data"]["command_id"]

    def stored() -> int:
        with app.app_context():
            from app.extensions import db
            from app.models.command import CommandRun

            db.session.remove()
            return db.session.get(CommandRun, uuid.UUID(command_id)).last_seq

    wait_for(lambda: stored() >= HALF, 20, 0.01, "the first half to be stored")
    clients = []
    for _ in range(3):
        ws = connect(developer)
        ws.send(type="subscribe", channel="command_output", command_id=command_id)
        clients.append(ws)
    joined_at = []
    for ws in clients:
        ack = ws.expect("subscribed")["data"]
        joined_at.append(stored())
        assert ack["command_id"] == command_id
    with app.app_context():
        from app.services import workspace

        (workspace.scratch_dir(developer.id) / "go").touch()
    for ws in clients:
        seqs, contents, done = _read_to_the_end(ws, connect, developer, command_id)
        assert seqs == list(range(1, len(seqs) + 1))  # every stored line, once, in order
        assert contents == [f"line {i}" for i in range(1, LINES + 1)]
        assert done["status"] == "completed" and done["exit_code"] == 0
        assert done["last_seq"] == seqs[-1]
    assert min(joined_at) < LINES, joined_at  # they joined while it was still printing


def _read_to_the_end(ws, connect, user, command_id: str):
    """Read a command's output as a client should: a socket the server drops as too slow (its
    queue passed WS_MAX_PENDING lines, which a loaded machine can do while 1,500 lines arrive
    at once) is reopened and resubscribed after the last line read, as the error says."""
    seqs: list[int] = []
    contents: list[str] = []
    while True:
        message = ws.recv(30)
        if message["type"] == "command_output":
            seqs.append(message["data"]["seq"])
            if message["data"]["stream"] == "stdout":
                contents.append(message["data"]["content"].rstrip("\n"))
        elif message["type"] == "command_completed":
            return seqs, contents, message["data"]
        elif (message["type"] == "error"
              and message["data"].get("details", {}).get("reason") == "too_slow"):
            ws = connect(user)
            ws.send(type="subscribe", channel="command_output", command_id=command_id,
                    after_seq=seqs[-1] if seqs else 0)
            ws.expect("subscribed")


def test_execute_task_over_the_socket(app, connect, developer, start_worker, new_session,
                                      client, auth):
    from tests import factories

    with app.app_context():
        project = factories.project(developer)
        task = factories.task(project, developer, title="Say hi", executor="shell",
                              command="echo hi")
    start_worker()
    session_id = new_session(developer)
    ws = connect(developer, session_id)
    ws.send(type="execute_task", task_id=str(task.id), priority="high")
    queued = ws.expect("task_update")["data"]
    assert queued["task_id"] == str(task.id) and queued["execution_id"]
    assert queued["event"] == "execute_task" and queued["queue"] == "high"
    done = ws.expect("task_completed", timeout=30)["data"]
    assert done["task_id"] == str(task.id) and done["status"] == "completed"
    assert done["exit_code"] == 0 and done["execution_id"] == queued["execution_id"]
    detail = client.get(f"/api/sessions/{session_id}", headers=auth(developer)).json["data"]
    assert [t["task_id"] for t in detail["state"]["tasks"]] == [str(task.id)]
    history = client.get(f"/api/sessions/{session_id}/history",
                         headers=auth(developer)).json["data"]["history"]
    assert "task_executed" in [h["action"] for h in history]
    ws.send(type="execute_task", task_id=str(uuid.uuid4()))
    error = ws.expect("error")["data"]
    assert error["code"] == "TASK_NOT_FOUND" and error["task_id"]


def test_commands_run_with_a_session_show_in_its_history(app, client, auth, developer,
                                                         start_worker, new_session):
    start_worker(queues="high")
    session_id = new_session(developer)
    resp = client.post("/api/commands/execute", headers=auth(developer),
                       json={"command": "echo hello", "session_id": session_id})
    command_id = resp.json["data"]["command_id"]
    history = client.get(f"/api/sessions/{session_id}/history",
                         headers=auth(developer)).json["data"]["history"]
    runs = [h for h in history if h["action"] == "command_run"]
    assert [h["details"]["command_id"] for h in runs] == [command_id]
    detail = client.get(f"/api/sessions/{session_id}", headers=auth(developer)).json["data"]
    assert detail["state"]["commands"][0]["command"] == "echo hello"


def test_a_command_cannot_be_filed_under_someone_elses_session(client, auth, developer,
                                                               make_user, new_session, app):
    from app.extensions import db
    from app.models import CommandRun

    other = make_user()
    session_id = new_session(other)
    resp = client.post("/api/commands/execute", headers=auth(developer),
                       json={"command": "echo hi", "session_id": session_id})
    assert resp.status_code == 404
    assert resp.json["error"]["code"] == "SESSION_NOT_FOUND"
    with app.app_context():
        assert db.session.query(CommandRun).count() == 0


def test_a_command_run_through_a_session_writes_a_snapshot(client, auth, developer,
                                                           new_session, app, start_worker):
    import uuid

    from app.extensions import db
    from app.models import SessionSnapshot

    start_worker(queues="high")
    session_id = new_session(developer)
    client.post("/api/commands/execute", headers=auth(developer),
                json={"command": "echo snap", "session_id": session_id})
    with app.app_context():
        reasons = [s.reason for s in db.session.query(SessionSnapshot)
                   .filter_by(session_id=uuid.UUID(session_id)).order_by(SessionSnapshot.id)]
    assert reasons == ["created", "command_run"]
