"""Start-up time and idle memory of one web worker (issue 2 figures; targets < 2 s, < 100 MB).

Beside it, in the same run, a bare Flask app under the same gunicorn settings: the ratio says what
our app adds to the stack's own cost. Run: `.venv/bin/python bench/startup.py [runs]`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
from _support import ROOT, Instance, median

BARE = '''
from flask import Flask, jsonify
app = Flask(__name__)
@app.get("/api/health/")
def health():
    return jsonify({"status": "healthy"})
'''


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(module: str, env: dict, cwd: Path) -> tuple[float, float]:
    """Seconds from spawn to the first 200 on /api/health/, and the worker's RSS (MB) idle."""
    port = free_port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    start = time.perf_counter()
    proc = subprocess.Popen([gunicorn, "-k", "gthread", "--workers", "1", "--threads", "100",
                             "--bind", f"127.0.0.1:{port}", module], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health/",
                                            timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.005)
            if time.perf_counter() - start > 30:
                raise RuntimeError(f"{module} did not start")
        elapsed = time.perf_counter() - start
        time.sleep(1.0)  # idle: let lazily created threads settle before reading memory
        workers = psutil.Process(proc.pid).children()
        rss = workers[0].memory_info().rss / 2**20 if workers else float("nan")
        return elapsed, rss
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    instance = Instance(os.environ.get("BENCH_DATABASE_URL"))
    bare_dir = instance.dir / "bare"
    bare_dir.mkdir()
    (bare_dir / "bare.py").write_text(BARE)
    ours, bare = [], []
    try:
        for _ in range(runs):  # interleaved, so both see the same machine load
            ours.append(measure("wsgi:app", instance.env, ROOT))
            bare.append(measure("bare:app", instance.env, bare_dir))
    finally:
        instance.stop()
    o_t, o_m = median([t for t, _ in ours]), median([m for _, m in ours])
    b_t, b_m = median([t for t, _ in bare]), median([m for _, m in bare])
    print(f"runs: {runs} (medians, interleaved)")
    print(f"start -> first 200   app {o_t:6.2f} s   bare Flask {b_t:6.2f} s   "
          f"ratio {o_t / b_t:4.2f}x   target < 2 s: {'met' if o_t < 2 else 'MISSED'}")
    print(f"idle worker RSS      app {o_m:6.1f} MB  bare Flask {b_m:6.1f} MB  "
          f"ratio {o_m / b_m:4.2f}x   target < 100 MB: {'met' if o_m < 100 else 'MISSED'}")


if __name__ == "__main__":
    main()
