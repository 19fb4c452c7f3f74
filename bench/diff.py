"""A task whose worktree changed 1,000 files: its page in headless Chromium with the diff panel
filled in, the diff page alone and the diff API, beside the same task page without worktrees
(the baseline, measured in the same run).

    .venv/bin/python bench/diff.py [--runs 7] [--files 1000]

A private installation (bench/_harness.py) served by gunicorn (gthread, 2 workers), as in
production. The project's workspace is a git repository of `files` files of 40 lines; the
task's worktree is made by the function a run job calls (app.services.worktrees.run_directory)
and then 3 lines of every file are changed, uncommitted (the diff then also does its
temporary-index work). Each page is loaded `runs` times, interleaved; the first load is left
out. Figures: TTFB and load from Navigation Timing; "panel" = navigation start until the diff
panel shows its files (the panel is fetched after the page is drawn); the API = one
`GET /api/tasks/{id}/diff` (first page, then page_size=500) timed in the browser.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from _harness import Harness, percentile, setup_project
from pages import CHROMIUM, PASSWORD, TIMING, serve

GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "HOME": "/nonexistent",
           "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
           "PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "safe.directory=*", *args], cwd=cwd, env=GIT_ENV, check=True,
                   capture_output=True)


def _chown_tree(path: Path, uid: int | None) -> None:
    if uid is None:
        return
    for top, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            os.lchown(os.path.join(top, name), uid, uid)
    os.chown(path, uid, uid)


def seed(h: Harness, files: int) -> dict[str, str]:
    """A project with worktrees and a task that changed `files` files; a baseline task."""
    from app.extensions import db
    from app.models.task import Task
    from app.services import run_identity, workspace, worktrees
    from app.services.projects import update_project

    with h.app.app_context():
        user, project = setup_project()
        update_project(project.id, user, {"settings": {"git": {"enabled": True}}})
        _, plain = setup_project()
        base = workspace.create(project.id)
        _git(base, "init", "-q", "-b", "main")
        for n in range(files):
            path = base / "src" / f"module_{n // 100:02d}" / f"file_{n:04d}.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(f"value_{i} = {i}  # line {i} of file {n}\n"
                                    for i in range(40)))
        _git(base, "add", "-A")
        _git(base, "commit", "-q", "-m", "initial")
        tasks = [Task(project_id=p.id, title=f"Change {files} files", executor="shell",
                      command="true", created_by=user.id) for p in (project, plain)]
        db.session.add_all(tasks)
        db.session.commit()
        identity = run_identity.for_space("project", project.id, base, workspace.root())
        _chown_tree(base, identity.uid if identity else None)
        cwd, identity = run_identity.prepare_run(project.id, None, None)
        tree = Path(worktrees.run_directory(project.id, tasks[0].id, None, cwd, identity))
        for path in sorted(tree.glob("src/*/*.py")):
            lines = path.read_text().splitlines(keepends=True)
            for i in (5, 20, 35):
                lines[i] = lines[i].replace(" = ", " = 1 + ")
            path.write_text("".join(lines))
        _chown_tree(tree / "src", identity.uid if identity else None)
        return {"username": user.username, "task": f"/tasks/{tasks[0].id}",
                "diff_page": f"/tasks/{tasks[0].id}/worktree",
                "api": f"/api/tasks/{tasks[0].id}/diff", "baseline": f"/tasks/{tasks[1].id}"}


def measure(url: str, paths: dict[str, str], runs: int) -> dict[str, dict[str, list[float]]]:
    from playwright.sync_api import sync_playwright

    names = ("baseline", "task", "diff_page")
    out = {n: {"ttfb": [], "loaded": [], "panel": [], "bytes": []} for n in names}
    out["api"] = {"ttfb": [], "loaded": [], "panel": [], "bytes": []}
    out["api500"] = {"ttfb": [], "loaded": [], "panel": [], "bytes": []}
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
        token = page.evaluate("""async (body) => { const r = await fetch('/api/auth/login', {
            method: 'POST', headers: {'Content-Type': 'application/json'},
            body: JSON.stringify(body)}); return (await r.json()).data.access_token; }""",
                              {"username": paths["username"], "password": PASSWORD})
        for run in range(runs + 1):
            for name in names:
                page.goto(paths[name], wait_until="load")
                timing = page.evaluate(TIMING)
                panel = None
                if name == "task":
                    page.wait_for_selector("#worktree-files", timeout=60000)
                    panel = page.evaluate("performance.now()")
                if run == 0:
                    continue
                for key in ("ttfb", "loaded", "bytes"):
                    out[name][key].append(timing[key])
                if panel is not None:
                    out[name]["panel"].append(panel)
            for key, query in (("api", ""), ("api500", "?page_size=500")):
                took = page.evaluate("""async ([p, t]) => { const s = performance.now();
                    const r = await fetch(p, {headers: {Authorization: 'Bearer ' + t}});
                    const b = await r.text(); return [performance.now() - s, b.length]; }""",
                                     [paths["api"] + query, token])
                if run:
                    out[key]["ttfb"].append(took[0])
                    out[key]["bytes"].append(took[1])
        browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()
    if not CHROMIUM or not shutil.which("git"):
        raise SystemExit("needs Chromium (apt-get install -y chromium) and git")
    h = Harness(RATELIMIT_USER="1000000/minute")
    try:
        started = time.perf_counter()
        paths = seed(h, args.files)
        seeded = time.perf_counter() - started
        url = serve(h)
        figures = measure(url, paths, args.runs)
    finally:
        h.close()
    print(f"database: {h.db_url.split(':', 1)[0]}; gunicorn gthread 2x16; Chromium headless; "
          f"{args.runs} warm loads each, interleaved; {args.files:,} files changed, 3 lines "
          f"each, uncommitted (seeded in {seeded:.0f} s)")
    print(f"{'page':<44} {'TTFB med/p90 ms':>17} {'loaded med/p90 ms':>19} "
          f"{'panel med/p90 ms':>17} {'KB':>6}")
    labels = {"baseline": "baseline: task page, no worktrees",
              "task": "task page + diff panel (files 1-100)",
              "diff_page": "diff page alone (files 1-100)",
              "api": "GET /api/tasks/{id}/diff (100 files)",
              "api500": "  page_size=500"}
    for name, label in labels.items():
        f = figures[name]

        def cell(values: list[float]) -> str:
            if not values:
                return "—"
            return f"{statistics.median(values):.0f}/{percentile(values, 90):.0f}"

        size = f"{statistics.median(f['bytes']) / 1024:.0f}" if f["bytes"] else "—"
        print(f"{label:<44} {cell(f['ttfb']):>17} {cell(f['loaded']):>19} "
              f"{cell(f['panel']):>17} {size:>6}")


if __name__ == "__main__":
    main()
