"""Real processes for tests: RQ workers (`worker.py`) and live web servers.

Both run the same code as production, configured through the environment (`child_env`), against
the test run's Redis and database. Waits are on conditions with deadlines, never bare sleeps.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC
from pathlib import Path

from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.02,
             message: str = "condition") -> object:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def holds_for(check: Callable[[], None], seconds: float, interval: float = 0.2) -> None:
    """Run `check` (which asserts) again and again for `seconds`: a state that must last, e.g.
    a run left alone through a whole database stall, not just seen once."""
    deadline = time.monotonic() + seconds
    while True:
        check()
        if time.monotonic() > deadline:
            return
        time.sleep(interval)


def clock_moves_on() -> None:
    """Wait until the wall clock reads later than now, so that the next change gets a
    timestamp strictly after the last one's (they are stored to the microsecond)."""
    from datetime import datetime

    start = datetime.now(UTC)
    wait_for(lambda: datetime.now(UTC) > start, 1.0, 0.0005, "the clock to move on")


def child_env(app_config: dict, **extra: str) -> dict[str, str]:
    """The environment a worker or server process needs to join this test run."""
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": app_config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app_config["REDIS_URL"],
        "INSTANCE_PATH": app_config["INSTANCE_PATH"],
        "WORKSPACE_ROOT": app_config["WORKSPACE_ROOT"],
        "APP_ENV": "test",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WorkerProcess:
    """`python worker.py` in its own process group; `kill()` simulates a crash (SIGKILL)."""

    def __init__(self, env: dict[str, str], queues: str = "high,normal,low",
                 name: str | None = None, log_dir: Path | None = None) -> None:
        self.env = env
        self.queues = queues
        self.name = name or f"test-worker-{uuid.uuid4().hex[:8]}"
        self.log_path = (log_dir or Path(env["INSTANCE_PATH"])) / f"{self.name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, wait: bool = True, timeout: float = 20.0) -> WorkerProcess:
        log = open(self.log_path, "wb")  # noqa: SIM115 - owned by the child for its lifetime
        self.proc = subprocess.Popen(
            [sys.executable, "worker.py", "--queues", self.queues, "--name", self.name],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        if wait:
            wait_for(self.registered, timeout, 0.05, f"worker {self.name} to register")
        return self

    def registered(self) -> bool:
        import redis
        from rq import Worker

        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"worker exited early:\n{self.log()}")
        conn = redis.Redis.from_url(self.env["REDIS_URL"])
        return any(w.name == self.name for w in Worker.all(connection=conn))

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-5000:]
        except FileNotFoundError:
            return ""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL the worker process alone (its job's children are left to the app to reap)."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 15.0) -> None:
        if not self.proc or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        except ProcessLookupError:
            pass


class ThreadedServer:
    """The test app served by werkzeug's threaded server in a thread (sockets work)."""

    def __init__(self, app) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> ThreadedServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(10)


class GunicornServer:
    """`gunicorn -k gthread wsgi:app` in a subprocess: a separate web process."""

    def __init__(self, env: dict[str, str], workers: int = 1, threads: int = 50) -> None:
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.threads = threads
        self.proc: subprocess.Popen | None = None
        self.log_path = Path(env["INSTANCE_PATH"]) / f"gunicorn-{self.port}.log"

    def start(self, timeout: float = 30.0) -> GunicornServer:
        import urllib.request

        log = open(self.log_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-k", "gthread",
             "--workers", str(self.workers), "--threads", str(self.threads),
             "--graceful-timeout", "5", "--bind", f"127.0.0.1:{self.port}", "wsgi:app"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)

        def up() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"gunicorn exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/health/", timeout=1) as r:
                    return r.status == 200
            except OSError:
                return False

        wait_for(up, timeout, 0.1, "gunicorn to answer")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
