"""`client.stream()` and `client.websocket` against the real app (gunicorn + a worker running
shell tasks): every line once and in order across dropped connections, events with attribute
access, and the asyncio client doing the same."""

from __future__ import annotations

import asyncio

import pytest
from claude_cli_sdk import AsyncClaudeCliClient, ClaudeCliClient, NotFoundError, OutputLine

from tests.sdk.conftest import run_async

LINES = 240
# About 2.5 s of output: the stream is cut while the task is still writing.
COUNTING = f"i=1; while [ $i -le {LINES} ]; do echo line $i; i=$((i+1)); sleep 0.01; done"


@pytest.fixture
def server(stack):
    return stack


def _login(server, user, **kwargs) -> ClaudeCliClient:
    return ClaudeCliClient(f"{server.url}/api", username=user.username, password=user.password,
                           **kwargs)


def test_stream_resumes_after_dropped_connections_without_gap_or_duplicate(
        server, make_user, proxy_to):
    user = make_user(role="developer")
    proxy = proxy_to(server.port)  # the socket goes through a proxy the test can cut
    client = _login(server, user, ws_url=f"ws://127.0.0.1:{proxy.port}/ws")
    project = client.projects.create(name="Streams")
    task = client.tasks.create(title="count", project_id=project.id, executor="shell",
                               command=COUNTING)
    run = client.tasks.execute(task.id, priority="high")

    stream = client.stream(run.execution_id)
    received: list[OutputLine] = []
    for line in stream:
        received.append(line)
        if len(received) in (20, 90):  # mid-stream, twice: the connection dies under it
            proxy.cut()
    assert proxy.cuts == 2 and proxy.accepted >= 3 and stream.reconnects >= 2

    assert [line.seq for line in received] == list(range(1, LINES + 1))
    assert [line.content.strip() for line in received] == [f"line {i}"
                                                           for i in range(1, LINES + 1)]
    assert stream.completion.status == "completed" and stream.completion.exit_code == 0
    assert stream.completion.last_seq == LINES
    stored = client.executions.get(run.execution_id, limit=10000).output
    assert [(o["seq"], o["content"]) for o in stored] == [(r.seq, r.content) for r in received]
    assert client.sessions.list().total == 0  # the stream's own session is gone again

    again = client.stream(run.execution_id, after_seq=LINES - 3)  # a finished run, resumed
    assert [line.seq for line in again] == [LINES - 2, LINES - 1, LINES]
    with pytest.raises(NotFoundError) as exc:
        list(client.stream("00000000-0000-4000-8000-000000000000"))
    assert exc.value.code == "EXECUTION_NOT_FOUND"


def test_websocket_events_read_like_the_reference(server, make_user):
    user = make_user(role="developer")
    client = _login(server, user)
    project = client.projects.create(name="Events")
    task = client.tasks.create(title="watched", project_id=project.id, executor="shell",
                               command="echo hi")
    session = client.sessions.create(project_id=project.id)

    with client.websocket.connect(session.session_id) as ws:
        ws.subscribe("task_updates", project_id=project.id)
        assert ws.recv(10).type == "subscribed"
        client.tasks.update(task.id, progress_percentage=30)
        statuses = []
        for message in ws.listen():
            if message.type == "task_update" and message.data.task_id == task.id:
                statuses.append(message.data.get("status"))
                if message.data.get("progress_percentage") == 30:
                    break
        assert statuses and statuses[-1] == "pending"
        ws.ping(timestamp=42)
        pong = ws.recv(10)
        assert pong.type == "pong" and pong.client_timestamp == 42

    with pytest.raises(NotFoundError) as exc:  # the socket's refusal, typed like REST's
        client.websocket.connect("00000000-0000-4000-8000-000000000000").open()
    assert exc.value.code == "SESSION_NOT_FOUND"


def test_the_async_client_does_the_same(server, make_user):
    user = make_user(role="developer")

    async def main() -> None:
        async with AsyncClaudeCliClient(f"{server.url}/api", username=user.username,
                                        password=user.password) as client:
            project = await client.projects.create(name="Async")
            created = await asyncio.gather(*(
                client.tasks.create(title=f"t{i}", project_id=project.id, executor="shell",
                                    command=f"echo task {i}") for i in range(5)))
            titles = [t.title async for t in client.tasks.iter(
                project_id=project.id, page_size=2, sort="title", order="asc")]
            assert titles == [f"t{i}" for i in range(5)]
            run = await client.tasks.execute(created[0].id)
            lines = [line.content async for line in client.stream(run.execution_id)]
            assert lines == ["task 0\n"] or [s.strip() for s in lines] == ["task 0"]

            command = await client.commands.execute("printf 'a\\nb\\nc\\n'",
                                                    project_id=project.id)
            stream = client.stream(command_id=command.command_id)
            out = [line async for line in stream]
            assert [line.content.strip() for line in out] == ["a", "b", "c"]
            assert [line.seq for line in out] == [1, 2, 3]
            assert stream.completion.status == "completed"
            status = await client.commands.status(command.command_id)
            assert status.exit_code == 0

    run_async(main)
