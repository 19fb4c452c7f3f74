"""The run loop holds a process's stdin without ever blocking on it (app.jobs.run_input): what
it sends waits for the pipe while the loop goes on reading output and making its checks."""

from __future__ import annotations

import socket
import sys
import uuid

import pytest

from app.jobs.output import OutputWriter
from app.jobs.runner import ProcessRun

GO = """
import socket, sys
go = socket.socket(socket.AF_UNIX)
go.connect("\\0" + sys.argv[1])
go.settimeout(20)
"""

CHILD = GO + """
print("started", flush=True)
go.recv(1)   # reads nothing until the run loop says so
data = sys.stdin.buffer.read()
print(len(data), data[:5].decode(), data[-5:].decode(), flush=True)
"""


class Go:
    """The run loop's word to the child (`GO`): the child connects before it prints, then
    blocks until `give()` (or gives up after 20 s), so no side polls a file."""

    def __init__(self) -> None:
        self.name = f"go-{uuid.uuid4().hex}"
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind("\0" + self.name)  # abstract: no file, nothing to clean up
        self.listener.listen(1)
        self.given = False

    def give(self) -> None:
        conn, _ = self.listener.accept()  # connected already: it printed after connecting
        with conn:
            conn.sendall(b"g")
        self.given = True

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def go():
    signal = Go()
    yield signal
    signal.close()


class Collected(OutputWriter):
    """Lines kept in memory: the subject here is the pipe, not storage."""

    def __init__(self) -> None:
        super().__init__("execution", uuid.uuid4(), 10 * 1024 * 1024)
        self.lines: list[str] = []

    def flush(self, heartbeat: bool = False) -> int:
        rows, self.pending = self.pending, []
        self.lines += [r["content"] for r in rows]
        return len(rows)


def test_a_megabyte_waits_for_the_pipe_while_the_loop_goes_on(ctx, tmp_path, go):
    writer = Collected()
    run = ProcessRun([sys.executable, "-c", CHILD, go.name], str(tmp_path), {}, writer,
                     timeout=20, grace=1, flush_ms=10, cancel_check=lambda: None,
                     tick=lambda: None, tick_every=60)
    seen: list[str] = []

    def check(now: float) -> None:
        # Called by the loop while a megabyte is still queued for a child that reads nothing
        # yet: a blocking write would never get here, the child would wait for ever.
        if "started\n" in writer.lines and not go.given:
            seen.append("loop alive with stdin full")
            go.give()

    pipe = run.enable_input(check)
    payload = b"BEGIN" + b"x" * (1024 * 1024) + b"-END-"
    assert pipe.send(payload)
    pipe.close()  # after everything queued is written: EOF
    run.start()
    end = run.wait()
    assert end.reason == "exit" and end.exit_code == 0, (end, writer.lines)
    assert seen == ["loop alive with stdin full"]
    assert writer.lines[-1] == f"{len(payload)} BEGIN -END-\n"
    assert not pipe.open and not pipe.send(b"more")  # closed: nothing more is taken


CLOSES_STDIN = GO + """
import os
os.close(0)
print("closed", flush=True)
go.recv(1)  # until the loop says
"""


def test_a_process_that_closed_its_stdin_is_not_written_to(ctx, tmp_path, go):
    writer = Collected()
    run = ProcessRun([sys.executable, "-c", CLOSES_STDIN, go.name], str(tmp_path), {}, writer,
                     timeout=20, grace=1, flush_ms=10, cancel_check=lambda: None,
                     tick=lambda: None, tick_every=60)
    sent: list[bool] = []

    def check(now: float) -> None:
        if "closed\n" in writer.lines and not sent:
            sent.append(pipe.send(b"y" * 200_000))  # taken: the write happens in the loop
        elif sent and not pipe.open and not go.given:
            go.give()  # EPIPE closed the pipe and the loop went on: let it end

    pipe = run.enable_input(check)
    run.start()
    end = run.wait()
    assert end.exit_code == 0 and writer.lines == ["closed\n"]
    assert sent == [True] and not pipe.open  # EPIPE: the rest was dropped, the run went on
    assert go.given  # seen while the child was still running
