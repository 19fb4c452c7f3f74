"""`make run`: Redis (embedded unless REDIS_URL is set), migrations, admin user, web server and
$WORKERS RQ workers; Ctrl-C stops every process it started, Redis last (CONTRACT §1)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.embedded_redis import EmbeddedRedis  # noqa: E402
from app.process_hardening import make_undumpable  # noqa: E402

PY = sys.executable
BIN = Path(PY).parent


def log(msg: str) -> None:
    print(f"[run] {msg}", flush=True)


class Supervisor:
    """Starts children in their own sessions (so Ctrl-C reaches only us) and stops them in order."""

    def __init__(self) -> None:
        self.port = int(os.environ.get("PORT", "8000"))
        self.workers = int(os.environ.get("WORKERS", "2"))
        self.instance = Path(os.environ.get("INSTANCE_PATH", ROOT / "instance"))
        self.redis: EmbeddedRedis | None = None
        self.web: subprocess.Popen | None = None
        self.worker_procs: dict[int, subprocess.Popen] = {}
        self.stopping = False
        self.env = dict(os.environ)

    def start_redis(self) -> None:
        if self.env.get("REDIS_URL"):
            log(f"using REDIS_URL={self.env['REDIS_URL']}")
            return
        self.redis = EmbeddedRedis(self.instance / "redis", persist=True)
        if self.redis.socket.exists():
            import redis

            try:
                redis.Redis.from_url(self.redis.url, socket_connect_timeout=1).ping()
                sys.exit(f"another `make run` already owns {self.redis.socket}; stop it first")
            except (redis.ConnectionError, OSError):
                pass
        self.env["REDIS_URL"] = self.redis.start()
        log(f"embedded Redis on {self.redis.socket}")

    def prepare(self) -> None:
        subprocess.run([str(BIN / "flask"), "--app", "wsgi", "init"], cwd=ROOT, env=self.env,
                       check=True)
        # Only the set-up needs it: the web server and the workers (parents of runs) never
        # get it (app.process_hardening).
        self.env.pop("ADMIN_PASSWORD", None)

    def spawn(self, args: list[str]) -> subprocess.Popen:
        return subprocess.Popen(args, cwd=ROOT, env=self.env, start_new_session=True)

    def start_web(self) -> None:
        threads = os.environ.get("WEB_THREADS", "100")
        self.web = self.spawn([
            str(BIN / "gunicorn"), "-k", "gthread", "--workers", os.environ.get("WEB_WORKERS", "2"),
            "--threads", threads, "--graceful-timeout", "5", "--timeout", "60",
            "--bind", f"127.0.0.1:{self.port}", "--access-logfile", "-", "wsgi:app"])

    def start_worker(self, index: int) -> None:
        name = f"{os.uname().nodename}.run.{index}.{int(time.time())}"
        proc = self.spawn([PY, "worker.py", "--name", name])
        self.worker_procs[index] = proc

    def wait_ready(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}/api/health/"
        while time.monotonic() < deadline:
            if self.web and self.web.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310 - our own http URL
                    if resp.status == 200:
                        return True
            except OSError:
                time.sleep(0.1)
        return False

    def stop(self, *_: object) -> None:
        if self.stopping:
            return
        self.stopping = True
        log("stopping…")
        procs = [p for p in [self.web, *self.worker_procs.values()] if p and p.poll() is None]
        for proc in procs:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in procs:
            try:
                proc.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
        if self.redis:
            self.redis.stop()
        log("stopped")

    def run(self) -> int:
        make_undumpable()  # our environment may hold ADMIN_PASSWORD; runs are our grandchildren
        signal.signal(signal.SIGINT, self.stop)
        signal.signal(signal.SIGTERM, self.stop)
        self.start_redis()
        try:
            self.prepare()
            self.start_web()
            for i in range(self.workers):
                self.start_worker(i)
            if not self.wait_ready():
                log("the web server did not come up")
                return 1
            log(f"app answering on http://127.0.0.1:{self.port}  ({self.workers} workers; "
                "Ctrl-C stops everything)")
            return self.supervise()
        finally:
            self.stop()

    def supervise(self) -> int:
        while not self.stopping:
            if self.web and self.web.poll() is not None:
                log(f"web server exited with {self.web.returncode}")
                return self.web.returncode or 1
            for index, proc in list(self.worker_procs.items()):
                if proc.poll() is not None and not self.stopping:
                    log(f"worker {index} exited with {proc.returncode}; restarting it")
                    self.start_worker(index)
            time.sleep(0.5)
        return 0


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


if __name__ == "__main__":
    sys.exit(Supervisor().run())
