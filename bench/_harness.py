"""Shared set-up of the engine benchmarks: a private Redis and database, real worker processes.

Nothing here touches the repository's instance/ or a Redis you already run: everything lives in
a temporary directory (set BENCH_DATABASE_URL to use PostgreSQL instead of SQLite).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = Path(tempfile.mkdtemp(prefix="engine-bench-"))
os.environ["INSTANCE_PATH"] = str(TMP)
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(32))
os.environ.setdefault("JWT_SECRET_KEY", secrets.token_urlsafe(32))
os.environ["APP_ENV"] = "bench"

from app import create_app  # noqa: E402
from app.embedded_redis import EmbeddedRedis  # noqa: E402
from app.private_schema import private_schema  # noqa: E402


class Harness:
    def __init__(self, **env: str) -> None:
        self.redis = EmbeddedRedis(TMP / "redis")
        self.redis_url = self.redis.start()
        # PostgreSQL: a schema of this run's own, dropped by close() (app.private_schema).
        self._schema = private_schema(
            os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{TMP / 'bench.db'}", "bench")
        self.db_url = self._schema.__enter__()
        self.workspaces = TMP / "workspaces"
        self.env = dict(os.environ, DATABASE_URL=self.db_url, REDIS_URL=self.redis_url,
                        WORKSPACE_ROOT=str(self.workspaces), PYTHONUNBUFFERED="1", **env)
        self.app = create_app({"SQLALCHEMY_DATABASE_URI": self.db_url,
                               "REDIS_URL": self.redis_url, "INSTANCE_PATH": str(TMP),
                               "WORKSPACE_ROOT": str(self.workspaces), "TESTING": True,
                               "PASSWORD_HASH": {"time_cost": 1, "memory_cost": 8192,
                                                 "parallelism": 1}})
        self.procs: list[subprocess.Popen] = []
        with self.app.app_context():
            from flask_migrate import upgrade

            upgrade()

    def spawn(self, args: list[str]) -> subprocess.Popen:
        log = open(TMP / f"proc-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def app_workers(self, n: int) -> list[subprocess.Popen]:
        procs = [self.spawn([sys.executable, "worker.py", "--name", f"bench-{i}-{time.time()}"])
                 for i in range(n)]
        self.wait_workers(n)
        return procs

    def raw_workers(self, n: int, queue: str) -> list[subprocess.Popen]:
        rq = str(Path(sys.executable).parent / "rq")
        procs = [self.spawn([rq, "worker", "-u", self.redis_url, "-w", "rq.worker.SimpleWorker",
                             "-n", f"raw-{i}-{time.time()}", queue]) for i in range(n)]
        self.wait_workers(n)
        return procs

    def wait_workers(self, n: int, timeout: float = 60) -> None:
        import redis
        from rq import Worker

        conn = redis.Redis.from_url(self.redis_url)
        deadline = time.monotonic() + timeout
        while len(Worker.all(connection=conn)) < n:
            if time.monotonic() > deadline:
                raise SystemExit("workers did not start; see logs in " + str(TMP))
            time.sleep(0.05)

    def stop(self, procs: list[subprocess.Popen] | None = None) -> None:
        import redis
        from rq import Worker

        for proc in procs if procs is not None else self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs if procs is not None else self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        conn = redis.Redis.from_url(self.redis_url)
        deadline = time.monotonic() + 10
        while Worker.all(connection=conn) and time.monotonic() < deadline and procs is None:
            time.sleep(0.05)

    def close(self) -> None:
        self.stop()
        self.redis.stop()
        with self.app.app_context():
            from app.extensions import db

            db.session.remove()
            db.engine.dispose()  # its connections would hold the schema's locks
        self._schema.__exit__(None, None, None)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def setup_project(max_concurrent: int = 1000):
    """A bench user and project (inside an app context)."""
    from app.services.projects import create_project
    from app.services.users import create_user

    user = create_user(f"bench{secrets.token_hex(3)}", "bench-password-1", role="admin")
    project = create_project(user, "bench", resource_limits={
        "max_concurrent_tasks": max_concurrent, "max_tasks": 100000})
    return user, project


def make_tasks(user, project, n: int, command: str) -> list:
    from app.extensions import db
    from app.models.task import Task

    tasks = [Task(project_id=project.id, title=f"bench {i}", executor="shell", command=command,
                  created_by=user.id) for i in range(n)]
    db.session.add_all(tasks)
    db.session.commit()
    return [t.id for t in tasks]
