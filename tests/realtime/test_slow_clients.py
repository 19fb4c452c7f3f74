"""A client that stops reading cannot delay anyone else; one that falls too far behind is told
and disconnected (never silently skipped).

simple_websocket's client reads everything in a background thread, so it can never stall; the
stalled and slow clients here are raw sockets speaking WebSocket through wsproto, with a small
receive buffer, that read only when the test says so."""

from __future__ import annotations

import json
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Request, TextMessage

from tests.live import wait_for
from tests.realtime import producer as prod


class RawClient:
    def __init__(self, base_url: str, session_id: str, rcvbuf: int = 4096,
                 extensions: list | None = None) -> None:
        parts = urlsplit(base_url)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect((parts.hostname, parts.port))
        self.conn = WSConnection(ConnectionType.CLIENT)
        self.sock.sendall(self.conn.send(Request(host=parts.hostname, target=f"/ws/{session_id}",
                                                 extensions=extensions or [])))
        self.messages: list[dict] = []
        self.closed = False
        self._partial = ""
        while not any(isinstance(e, AcceptConnection) for e in self._pump(1.0)):
            pass

    def send(self, **message) -> None:
        self.sock.sendall(self.conn.send(TextMessage(data=json.dumps(message))))

    def _pump(self, timeout: float, size: int = 65536) -> list:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(size)
        except TimeoutError:
            return []
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return []
        self.conn.receive_data(data)
        found = []
        for event in self.conn.events():
            found.append(event)
            if isinstance(event, TextMessage):
                self._partial += event.data
                if event.message_finished:
                    self.messages.append(json.loads(self._partial))
                    self._partial = ""
            if isinstance(event, CloseConnection):
                self.closed = True
        return found

    def read_until(self, predicate, timeout: float = 10.0, size: int = 65536) -> None:
        deadline = time.monotonic() + timeout
        while not predicate() and not self.closed:
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; last messages {self.messages[-3:]}")
            self._pump(0.2, size)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def command(app, developer):
    with app.app_context():
        from app.extensions import db
        from app.models.user import User

        return prod.command_run(db.session.get(User, developer.id))


def _raw(server, developer, token, new_session, command) -> RawClient:
    client = RawClient(server, new_session(developer))
    client.send(type="authenticate", token=token(developer))
    client.send(type="subscribe", channel="command_output", command_id=str(command))
    client.read_until(lambda: any(m["type"] == "subscribed" for m in client.messages))
    return client


def _subscribers(app):
    from app.realtime.hub import get_hub

    return get_hub(app).subscribers()


def test_a_stalled_client_does_not_delay_another(app, server, connect, developer, token,
                                                 new_session, command, monkeypatch):
    monkeypatch.setitem(app.config, "WS_MAX_PENDING", 200)
    monkeypatch.setitem(app.config, "WS_SEND_TIMEOUT", 1.0)
    stalled = _raw(server, developer, token, new_session, command)  # and now it stops reading
    healthy = connect(developer)
    healthy.send(type="subscribe", channel="command_output", command_id=str(command))
    healthy.expect("subscribed")
    p = prod.Producer(app, "command", command)
    received: list[int] = []
    gaps: list[float] = []

    def read_healthy():
        last = time.monotonic()
        while len(received) < 3000:
            message = healthy.recv(10)
            if message["type"] == "command_output":
                received.append(message["data"]["seq"])
                now = time.monotonic()
                gaps.append(now - last)
                last = now

    reader = threading.Thread(target=read_healthy)
    reader.start()
    try:
        p.write(3000, batch=20, pad=1000)  # ~3 MB: far more than the stalled socket buffers
        reader.join(30)
    finally:
        stalled.close()
    assert received == list(range(1, 3001))
    # The healthy client never waited on the stalled one (the stall lasts the whole run and
    # the watchdog's cut-off is 1 s; no pause of that order happened).
    assert max(gaps) < 1.0, max(gaps)
    wait_for(lambda: len(_subscribers(app)) == 1, 10, message="the stalled socket to be dropped")


def test_a_client_that_falls_too_far_behind_is_told_and_disconnected(
        app, server, developer, token, new_session, command, monkeypatch):
    monkeypatch.setitem(app.config, "WS_MAX_PENDING", 50)
    monkeypatch.setitem(app.config, "WS_SEND_TIMEOUT", 30.0)
    slow = _raw(server, developer, token, new_session, command)
    p = prod.Producer(app, "command", command)
    producing = threading.Thread(target=p.write, args=(3000,), kwargs={"batch": 10, "pad": 2000})
    producing.start()
    try:
        # It does not read until the server has given up on keeping up with it...
        wait_for(lambda: any(s.overflowed for s in _subscribers(app)), 30,
                 message="the slow socket to overflow")
        # ...then it reads again: the warning is the last thing before the close.
        slow.read_until(lambda: False, timeout=60)
    except AssertionError:
        pass
    finally:
        producing.join(60)
        slow.close()
    assert slow.closed
    assert slow.messages[-1]["type"] == "error", slow.messages[-1]
    error = slow.messages[-1]["data"]
    assert error["code"] == "WEBSOCKET_CONNECTION_FAILED"
    assert error["details"]["reason"] == "too_slow" and error["details"]["limit"] == 50
    seqs = [m["data"]["seq"] for m in slow.messages if m["type"] == "command_output"]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) < 3000
    assert error["details"]["resume_after_seq"][f"command:{command}"] == seqs[-1]


def test_a_compressing_client_gets_the_same_stream(app, server, developer, token, new_session,
                                                   command):
    """Browsers negotiate permessage-deflate: then frames are encoded per connection, not
    shared; the stream must be the same."""
    from wsproto.extensions import PerMessageDeflate

    client = RawClient(server, new_session(developer), rcvbuf=1 << 20,
                       extensions=[PerMessageDeflate()])
    assert client.conn.connection._proto.extensions  # deflate really is on
    client.send(type="authenticate", token=token(developer))
    client.send(type="subscribe", channel="command_output", command_id=str(command))
    client.read_until(lambda: any(m["type"] == "subscribed" for m in client.messages))
    p = prod.Producer(app, "command", command)
    p.write(40, batch=4, pad=200)
    p.finish()
    client.read_until(lambda: any(m["type"] == "command_completed" for m in client.messages))
    lines = [m["data"] for m in client.messages if m["type"] == "command_output"]
    assert [d["seq"] for d in lines] == list(range(1, 41))
    assert lines[5]["content"] == "line 6" + "." * 200 + "\n"
    client.close()
