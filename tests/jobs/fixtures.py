"""Fixtures and helpers of the execution-engine tests (jobs/, commands/, queues/).

Everything is real: worker.py processes, Redis, the database, /bin/sh subprocesses, and a fake
Claude CLI that writes the real stream-json format. Engine timings are shortened through the
workers' environment so that recovery and retries happen within seconds.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import psutil
import pytest

from tests import factories
from tests.live import wait_for

ROOT = Path(__file__).resolve().parent.parent.parent
FINAL = ("completed", "failed", "cancelled")


def _usable_by_anyone(path: str) -> bool:
    """Whether every directory above `path` and the file itself are executable by others."""
    real = Path(os.path.realpath(path))
    return all(p.stat().st_mode & 0o001 for p in (real, *real.parents) if p.exists())


def python_for_runs() -> str:
    """A Python 3 that a run can execute: run as root, the workers run it as another uid,
    which may not reach this interpreter (a venv whose Python lives under /root)."""
    for candidate in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(candidate) and _usable_by_anyone(candidate):
            return candidate
    return sys.executable


@pytest.fixture
def fake_claude(tmp_path) -> str:
    """An executable wrapper that runs tests/fake_claude.py (standard library only)."""
    tmp_path.chmod(0o711)  # runs may execute as another uid (app.services.run_identity)
    path = tmp_path / "claude"
    script = ROOT / "tests" / "fake_claude.py"
    path.write_text(f"#!/bin/sh\nexec {python_for_runs()} {script} \"$@\"\n")
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def engine_env(worker_env, fake_claude) -> dict[str, str]:
    env = dict(worker_env)
    env.update({"ENGINE_HEARTBEAT_TTL": "3", "ENGINE_REAPER_INTERVAL": "1",
                "RETRY_BACKOFF_SECONDS": "0.2", "CANCEL_GRACE_SECONDS": "2",
                "CLAUDE_CLI_PATH": fake_claude})
    return env


@pytest.fixture
def workers(start_worker, engine_env):
    """`workers(n=1, queues="high,normal,low", **env)`: n real worker processes."""

    def start(n: int = 1, queues: str = "high,normal,low", **extra: str):
        env = {**engine_env, **{k: str(v) for k, v in extra.items()}}
        return [start_worker(queues=queues, env=env) for _ in range(n)]

    return start


@pytest.fixture
def dev(make_user):
    return make_user(role="developer")


@pytest.fixture
def project(ctx, dev):
    return factories.project(dev)


def make_task(project, user, command: str | None = None, executor: str = "shell", **kwargs):
    return factories.task(project, user, executor=executor, command=command, **kwargs)


def execute(client, headers, task_id, **body):
    resp = client.post(f"/api/tasks/{task_id}/execute", json=body, headers=headers)
    return resp


def get_execution(client, headers, execution_id, after_seq: int = 0):
    resp = client.get(f"/api/executions/{execution_id}?after_seq={after_seq}&limit=10000",
                      headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["data"]


def wait_final(client, headers, execution_id, timeout: float = 30.0) -> dict:
    def done():
        data = get_execution(client, headers, execution_id)
        return data if data["status"] in FINAL else None

    return wait_for(done, timeout, 0.05, f"execution {execution_id} to finish")


def executions_of(client, headers, task_id) -> list[dict]:
    resp = client.get(f"/api/tasks/{task_id}/executions?order=asc&page_size=100",
                      headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["data"]["items"]


def stdout_text(data: dict, stream: str = "stdout") -> str:
    return "".join(line["content"] for line in data["output"] if line["stream"] == stream)


def marker() -> str:
    """A unique sleep duration, so a test can find exactly its own processes."""
    return f"{100 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 10**6:06d}"


def processes_with(text: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if text in " ".join(proc.info["cmdline"] or []) and proc.pid != os.getpid():
                found.append(proc)
        except psutil.Error:
            continue
    return found
