"""Gap-free output over real sockets: the stored backlog, then live lines, each exactly once and
in sequence order, also when lines arrive while the backlog is being sent; `after_seq` resumes.

The producer here stores and publishes exactly as the engine does (tests/realtime/producer.py);
tests/realtime/test_engine_output.py does the same with real commands on a real worker."""

from __future__ import annotations

import threading

import pytest

from tests.realtime import producer as prod


@pytest.fixture
def command(app, developer):
    with app.app_context():
        from app.extensions import db
        from app.models.user import User

        return prod.command_run(db.session.get(User, developer.id))


def read_stream(ws, timeout: float = 20.0) -> tuple[list[int], dict]:
    """Every command_output seq until command_completed."""
    seqs = []
    while True:
        message = ws.recv(timeout)
        if message["type"] == "command_output":
            seqs.append(message["data"]["seq"])
        elif message["type"] == "command_completed":
            return seqs, message


def test_backlog_then_live_then_completion(app, connect, developer, command):
    p = prod.Producer(app, "command", command)
    p.write(30, batch=4)
    ws = connect(developer)
    ws.send(type="subscribe", channel="command_output", command_id=str(command))
    ack = ws.expect("subscribed")["data"]
    assert ack["command_id"] == str(command) and ack["status"] == "running" and ack["live"]
    first = ws.expect("command_output")["data"]
    assert first["seq"] == 1 and first["command_id"] == str(command)
    assert first["content"] == "line 1\n" and first["stream"] == "stdout"
    assert first["timestamp"].endswith("Z")
    p.write(30, batch=3)
    p.finish(exit_code=3)
    seqs, done = read_stream(ws)
    assert [1, *seqs] == list(range(1, 61))
    assert done["data"] == {"command_id": str(command), "status": "completed", "exit_code": 3,
                            "last_seq": 60}


def test_late_joiners_during_a_fast_producer_get_every_line_once(app, connect, developer,
                                                                 command):
    p = prod.Producer(app, "command", command)
    p.write(50, batch=5)
    joined, confirmed = threading.Event(), threading.Event()
    total = 1500

    def produce():
        for i in range(0, total, 5):
            p.write(5, batch=5)
            if i == 300:
                joined.wait(10)  # keep producing while the clients join...
            elif i == 900:
                confirmed.wait(10)  # ...and write the rest once every join is confirmed
        p.finish()

    producer = threading.Thread(target=produce)
    producer.start()
    clients, written_at_join = [], []
    try:
        for _ in range(3):
            ws = connect(developer)
            ws.send(type="subscribe", channel="command_output", command_id=str(command))
            clients.append(ws)
        joined.set()
        for ws in clients:
            ws.expect("subscribed")
            written_at_join.append(p.seq)
        confirmed.set()
        for ws in clients:
            seqs, done = read_stream(ws, timeout=30)
            assert seqs == list(range(1, total + 51)), (len(seqs), seqs[:5], seqs[-5:])
            assert done["data"]["last_seq"] == total + 50
    finally:
        joined.set()
        confirmed.set()
        producer.join(60)
    # The joins really overlapped the production (lines kept coming during the backlog).
    assert min(written_at_join) < total + 50, written_at_join


def test_resume_after_seq(app, connect, developer, command):
    p = prod.Producer(app, "command", command)
    p.write(40, batch=10)
    ws = connect(developer)
    ws.send(type="subscribe", channel="command_output", command_id=str(command), after_seq=25)
    assert ws.expect("subscribed")["data"]["after_seq"] == 25
    p.write(5)
    p.finish()
    seqs, _ = read_stream(ws)
    assert seqs == list(range(26, 46))


def test_a_finished_command_sends_its_backlog_and_ends(app, connect, developer, command):
    p = prod.Producer(app, "command", command)
    p.write(12, batch=12)
    p.finish(status="failed", exit_code=2)
    ws = connect(developer)
    ws.send(type="subscribe", channel="command_output", command_id=str(command))
    assert ws.expect("subscribed")["data"]["status"] == "failed"
    seqs, done = read_stream(ws)
    assert seqs == list(range(1, 13))
    assert done["data"]["status"] == "failed" and done["data"]["exit_code"] == 2
    ws.send(type="unsubscribe", channel="command_output", command_id=str(command))
    assert ws.expect("unsubscribed")["data"]["was_subscribed"] is False


def test_lines_published_out_of_order_are_filled_from_storage(app, connect, developer, command):
    p = prod.Producer(app, "command", command)
    ws = connect(developer)
    ws.send(type="subscribe", channel="command_output", command_id=str(command))
    ws.expect("subscribed")
    early, late = p.store(3), p.store(3)
    p.publish(late)  # 4-6 first: 1-3 are stored, so the socket reads them before 4
    p.publish(early)
    p.finish()
    seqs, _ = read_stream(ws)
    assert seqs == [1, 2, 3, 4, 5, 6]


def test_execution_output_by_execution_id(app, connect, developer, project_of, task_of):
    project = project_of(developer)
    task = task_of(project, developer)
    with app.app_context():
        from app.extensions import db
        from app.models.user import User

        run = prod.execution_run(task, db.session.get(User, developer.id))
    p = prod.Producer(app, "execution", run)
    p.write(3)
    ws = connect(developer)
    ws.send(type="subscribe", channel="command_output", execution_id=str(run))
    assert ws.expect("subscribed")["data"]["execution_id"] == str(run)
    line = ws.expect("command_output")["data"]
    assert line["execution_id"] == str(run) and line["task_id"] == str(task.id)
    p.write(2)
    p.finish()
    seqs, done = read_stream(ws)
    assert seqs == [2, 3, 4, 5]
    assert done["data"]["execution_id"] == str(run) and done["data"]["task_id"] == str(task.id)


def test_who_may_watch_a_command(app, connect, developer, make_user, admin, project_of):
    member, stranger = make_user(), make_user()
    project = project_of(developer, settings={"members": [str(member.id)]})
    with app.app_context():
        from app.extensions import db
        from app.models.user import User

        owner = db.session.get(User, developer.id)
        private = prod.command_run(owner)
        shared = prod.command_run(owner, project)
    cases = [(stranger, private, "COMMAND_NOT_FOUND"), (member, private, "COMMAND_NOT_FOUND"),
             (stranger, shared, "PROJECT_ACCESS_DENIED"), (member, shared, None),
             (admin, private, None)]
    for user, command, code in cases:
        ws = connect(user)
        ws.send(type="subscribe", channel="command_output", command_id=str(command))
        message = ws.expect("error" if code else "subscribed")
        if code:
            assert message["data"]["code"] == code
        ws.close()
