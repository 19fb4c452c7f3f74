"""Page figures in headless Chromium (Debian's): time to first byte and to fully loaded for the
dashboard, a board with 1,000 tasks and the viewer of a 200,000-line log.

    .venv/bin/python bench/pages.py [--runs 7] [--tasks 1000] [--lines 200000]

A private installation (bench/_harness.py: its own Redis and SQLite, or BENCH_DATABASE_URL)
served by gunicorn (gthread, 2 workers), as in production. Each page is loaded `runs` times,
interleaved with the others; the first load of each (cold static files) is left out. Figures
from the browser's Navigation Timing: TTFB = responseStart - requestStart, loaded =
loadEventEnd, live = the page's socket open (its data-live="open"). Baseline in the same run:
the profile page (a small page on the same stack). Also timed: loading one earlier range of
500 lines of the big log (what "Load earlier lines" fetches).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import time
import urllib.request
from pathlib import Path

from _harness import TMP, Harness, percentile, setup_project

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PASSWORD = "bench-password-1"
STATUSES = ("pending", "queued", "running", "completed", "failed", "cancelled")


def seed(h: Harness, tasks: int, lines: int) -> dict[str, str]:
    """An admin, a project with `tasks` tasks spread over the statuses, and a finished run
    with `lines` output lines. Returns the paths to measure."""
    from sqlalchemy import insert

    from app.errors import utcnow
    from app.extensions import db
    from app.models.execution import OutputLine, TaskExecution
    from app.models.task import Task

    rng = random.Random(7)
    with h.app.app_context():
        user, project = setup_project()
        rows = [Task(project_id=project.id, title=f"Task {i}: {rng.choice(['fix', 'add'])} "
                     f"{rng.choice(['auth', 'board', 'api', 'docs'])}", executor="shell",
                     command="true", status=rng.choice(STATUSES), priority=rng.randint(0, 10),
                     created_by=user.id) for i in range(tasks)]
        db.session.add_all(rows)
        db.session.commit()
        run = TaskExecution(task_id=rows[0].id, project_id=project.id, triggered_by=user.id,
                            status="completed", executor="shell", command="seq", exit_code=0,
                            started_at=utcnow(), finished_at=utcnow(), last_seq=lines)
        db.session.add(run)
        db.session.commit()
        now = utcnow()
        for start in range(1, lines + 1, 10000):
            db.session.execute(insert(OutputLine), [
                {"owner_type": "execution", "owner_id": run.id, "seq": seq,
                 "stream": "stderr" if seq % 50 == 0 else "stdout", "kind": "line",
                 "content": f"\x1b[32m{seq:>7}\x1b[0m line of output number {seq}\n",
                 "timestamp": now} for seq in range(start, min(start + 10000, lines + 1))])
            db.session.commit()
        return {"username": user.username, "dashboard": "/",
                "board": f"/projects/{project.id}/board", "log": f"/executions/{run.id}",
                "earlier": f"/executions/{run.id}/lines?before_seq={lines // 2}",
                "baseline": "/profile"}


def serve(h: Harness) -> str:
    from tests.live import free_port

    port = free_port()
    h.spawn([str(Path(sys.executable).parent / "gunicorn"), "-k", "gthread", "--workers", "2",
             "--threads", "16", "--graceful-timeout", "5", "--bind", f"127.0.0.1:{port}",
             "wsgi:app"])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/api/health/", timeout=1):
                return url
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("gunicorn did not start; see logs in " + str(TMP)) from None
            time.sleep(0.2)


TIMING = """() => { const n = performance.getEntriesByType('navigation')[0];
  return {ttfb: n.responseStart - n.requestStart, loaded: n.loadEventEnd,
          bytes: n.encodedBodySize}; }"""


def measure(url: str, paths: dict[str, str], runs: int) -> dict[str, dict[str, list[float]]]:
    from playwright.sync_api import sync_playwright

    names = ("baseline", "dashboard", "board", "log")
    out: dict[str, dict[str, list[float]]] = {n: {"ttfb": [], "loaded": [], "live": [],
                                                  "bytes": []} for n in names}
    earlier: list[float] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900}
                                   ).new_page()
        page.goto("/login")
        page.fill("#username", paths["username"])
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda u: "/login" not in u)
        for run in range(runs + 1):
            for name in names:
                page.goto(paths[name], wait_until="load")
                timing = page.evaluate(TIMING)
                live = None
                if name != "baseline":
                    page.wait_for_selector("[data-live=open]", timeout=30000)
                    live = page.evaluate("performance.now()")
                if run == 0:
                    continue  # cold static files
                for key in ("ttfb", "loaded", "bytes"):
                    out[name][key].append(timing[key])
                if live is not None:
                    out[name]["live"].append(live)
            if run:
                earlier.append(page.evaluate("""async (p) => { const t = performance.now();
                    const r = await fetch(p, {headers: {'HX-Request': 'true'}}); await r.text();
                    return performance.now() - t; }""", paths["earlier"]))
        browser.close()
    out["earlier"] = {"ttfb": earlier, "loaded": [], "live": [], "bytes": []}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=200_000)
    args = parser.parse_args()
    if not CHROMIUM:
        raise SystemExit("no Chromium (apt-get install -y chromium)")
    h = Harness(RATELIMIT_USER="1000000/minute")
    try:
        started = time.perf_counter()
        paths = seed(h, args.tasks, args.lines)
        seeded = time.perf_counter() - started
        url = serve(h)
        figures = measure(url, paths, args.runs)
    finally:
        h.close()
    print(f"database: {h.db_url.split(':', 1)[0]}; gunicorn gthread 2x16; Chromium headless; "
          f"{args.runs} warm loads per page, interleaved (seeded in {seeded:.0f} s)")
    print(f"{'page':<34} {'TTFB med/p90 ms':>17} {'loaded med/p90 ms':>19} "
          f"{'live med ms':>12} {'HTML KB':>8}")
    labels = {"baseline": "baseline: profile page",
              "dashboard": "dashboard",
              "board": f"board, {args.tasks} tasks",
              "log": f"log viewer, {args.lines:,} lines",
              "earlier": "  + one earlier range (500 lines)"}
    for name, label in labels.items():
        f = figures[name]
        ttfb = f"{statistics.median(f['ttfb']):.0f}/{percentile(f['ttfb'], 90):.0f}"
        loaded = (f"{statistics.median(f['loaded']):.0f}/{percentile(f['loaded'], 90):.0f}"
                  if f["loaded"] else "—")
        live = f"{statistics.median(f['live']):.0f}" if f["live"] else "—"
        size = f"{statistics.median(f['bytes']) / 1024:.0f}" if f["bytes"] else "—"
        print(f"{label:<34} {ttfb:>17} {loaded:>19} {live:>12} {size:>8}")


if __name__ == "__main__":
    main()
