"""Shared bench plumbing: a private Redis + SQLite instance, process timing, percentiles."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.embedded_redis import EmbeddedRedis  # noqa: E402
from app.private_schema import private_schema  # noqa: E402


class Instance:
    """A throwaway installation: its own instance dir, Redis and migrated database."""

    def __init__(self, database_url: str | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="bench-"))
        self.redis = EmbeddedRedis(self.dir / "redis")
        self.redis_url = self.redis.start()
        # PostgreSQL: a schema of this run's own, dropped by stop() (app.private_schema).
        self._schema = private_schema(database_url or f"sqlite:///{self.dir / 'bench.db'}",
                                      "bench")
        database_url = self._schema.__enter__()
        self.env = dict(os.environ)
        self.env.update({
            "INSTANCE_PATH": str(self.dir), "REDIS_URL": self.redis_url,
            "DATABASE_URL": database_url,
            "ADMIN_PASSWORD": "bench-admin-pw", "PYTHONUNBUFFERED": "1",
            "RATELIMIT_ANONYMOUS": "1000000/minute", "RATELIMIT_USER": "1000000/minute",
        })
        subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "init"],
                       cwd=ROOT, env=self.env, check=True, capture_output=True)

    def stop(self) -> None:
        self.redis.stop()
        self._schema.__exit__(None, None, None)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(round(p / 100 * (len(ordered) - 1)), len(ordered) - 1)]


def median(values: list[float]) -> float:
    return statistics.median(values)
