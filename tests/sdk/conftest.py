"""Fixtures of the SDK tests: the real app in gunicorn (its own environment per test: short
token lifetimes, low rate limits), real workers, and a TCP proxy whose connections a test can
cut to drop a client's socket the way a network does."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest

from tests.live import GunicornServer, WorkerProcess, child_env, wait_for


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to a server; `cut()` drops every open connection at once
    (new connections are accepted as before)."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.cuts = 0
        self.accepted = 0
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.open |= {client, upstream}
                self.accepted += 1
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(src, dst)

    def _drop(self, *socks: socket.socket) -> None:
        with self.lock:
            for s in socks:
                if s in self.open:
                    self.open.discard(s)
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    s.close()

    def cut(self) -> None:
        """Drop every connection now, without a websocket close: a network failure."""
        with self.lock:
            victims = list(self.open)
            self.cuts += 1
        self._drop(*victims)

    def close(self) -> None:
        self.closed = True
        self.listener.close()
        self.cut()


def run_async(main: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """`asyncio.run(main())` on a thread of its own: the browser tests' sync Playwright keeps
    an event loop running on the main thread for the whole session."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(main())
        except BaseException as exc:  # handed to the test's thread
            result["error"] = exc

    thread = threading.Thread(target=target, name="sdk-async-test")
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "the async test did not finish within 120 s"
    if "error" in result:
        raise result["error"]
    return result.get("value")


@pytest.fixture
def proxy_to() -> Iterator:
    """`proxy_to(port)`: a CuttableProxy in front of a local server."""
    proxies: list[CuttableProxy] = []

    def make(port: int) -> CuttableProxy:
        proxies.append(CuttableProxy(port))
        return proxies[-1]

    yield make
    for p in proxies:
        p.close()


@pytest.fixture
def sdk_server(app, worker_env):
    """`sdk_server(**env)`: the app in its own gunicorn process, with extra environment
    (the database is migrated by `app`); `.url + "/api"` is what the SDK takes."""
    started: list[GunicornServer] = []

    def start(**env: object) -> GunicornServer:
        server = GunicornServer({**worker_env, **{k: str(v) for k, v in env.items()}},
                                threads=20)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        _kill(server)


def _kill(server: GunicornServer) -> None:
    """Killed outright: a graceful stop waits 5 s for the realtime threads, and nothing of a
    test server needs to outlive it."""
    if server.proc is not None and server.proc.poll() is None:
        os.killpg(server.proc.pid, signal.SIGKILL)
        server.proc.wait(10)


@pytest.fixture(scope="package")
def stack(app, app_config) -> Iterator[GunicornServer]:
    """The app with default settings in gunicorn plus one real worker (shell tasks and
    commands), started side by side once for all SDK tests that need nothing special. Tests
    make their own users and projects; the flush between tests is survived (the worker
    registers again when Redis forgets it)."""
    env = child_env(app_config)
    worker = WorkerProcess(dict(env)).start(wait=False)
    server = GunicornServer(dict(env), threads=20)
    try:
        server.start()
        wait_for(worker.registered, 30, 0.05, "the worker to register")
        yield server
    finally:
        _kill(server)
        worker.stop()
