"""GET /api/tasks/ with 100,000 tasks in one project: median and p99 latency per case.

Cases: (a) a plain page, (b) `status` + `tags` filter, (c) `search=auth* AND security`.
Beside each, in the same run and interleaved request by request:
  - sql:  the same query through SQLAlchemy alone (count + page + tags, as the service runs it),
  - bare: a bare Flask route (no auth, no validation, no envelope) running the same page
          SELECT and serialising the same 50 rows with jsonify.
Target: (a) and (b) within 2x the bare Flask route. All requests go through Flask's test client
in this process (no sockets), for the endpoint and the bare route alike.

Run:  .venv/bin/python bench/task_list.py [--tasks 100000] [--requests 200]
      .venv/bin/python bench/task_list.py --database postgresql+psycopg://postgres@127.0.0.1:5432/test
(PostgreSQL: a private schema is created and dropped.)
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import ROOT, median, pct

TMP = Path(tempfile.mkdtemp(prefix="bench-tasks-"))
os.environ.setdefault("INSTANCE_PATH", str(TMP))
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(32))
os.environ.setdefault("JWT_SECRET_KEY", secrets.token_urlsafe(32))
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask import Flask, jsonify  # noqa: E402

from app.embedded_redis import EmbeddedRedis  # noqa: E402
from app.private_schema import private_schema  # noqa: E402

VERBS = ["Implement", "Fix", "Refactor", "Review", "Add", "Remove", "Document", "Test"]
NOUNS = ["user", "auth", "authentication", "login", "payment", "search", "cache", "report",
         "session", "export", "billing", "profile"]
THINGS = ["flow", "module", "tests", "endpoint", "page", "job", "schema", "api"]
TAGS = ["security", "backend", "frontend", "docs", "qa", "infra", "api", "db"]
STATUSES = ["pending", "queued", "running", "completed", "failed", "cancelled"]
CASES = {
    "a plain page": {},
    "b status+tags": {"status": "pending,running", "tags": "security,backend"},
    "c search": {"search": "auth* AND security"},
}


def make_app(database_url: str, redis_url: str):
    from app import create_app
    from app.config import TestConfig

    return create_app({
        "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url,
        "INSTANCE_PATH": str(TMP), "WORKSPACE_ROOT": str(TMP / "workspaces"),
        "PASSWORD_HASH": TestConfig.PASSWORD_HASH, "RATELIMIT_ENABLED": False,
        "ENVIRONMENT": "bench",
    })


def seed(app, n: int):
    """One developer, one project, `n` tasks (2 tags each) inserted in bulk."""
    from app.extensions import db
    from app.models.task import Task, TaskTag
    from app.services.projects import create_project
    from app.services.users import create_user

    rnd = random.Random(7)
    with app.app_context():
        user = create_user("bench", "bench-password", role="developer")
        project = create_project(user, "Big project", resource_limits={"max_tasks": 1_000_000})
        start = datetime(2025, 1, 1, tzinfo=UTC)
        for chunk in range(0, n, 5000):
            tasks, tags = [], []
            for i in range(chunk, min(chunk + 5000, n)):
                tid = uuid.uuid4()
                title = f"{rnd.choice(VERBS)} {rnd.choice(NOUNS)} {rnd.choice(THINGS)}"
                desc = f"Work on the {rnd.choice(NOUNS)} {rnd.choice(THINGS)}" + (
                    "; needs a security review" if rnd.random() < 0.2 else "")
                when = start + timedelta(seconds=i * 60)
                tasks.append({"id": tid, "project_id": project.id, "title": title,
                              "description": desc, "status": rnd.choice(STATUSES),
                              "priority": rnd.randint(0, 10), "progress_percentage": 0,
                              "created_by": user.id, "created_at": when, "updated_at": when,
                              "meta": {}, "executor": "claude"})
                for pos, tag in enumerate(rnd.sample(TAGS, 2)):
                    tags.append({"task_id": tid, "tag": tag, "position": pos})
            db.session.execute(sa.insert(Task), tasks)
            db.session.execute(sa.insert(TaskTag), tags)
            db.session.commit()
        if db.engine.dialect.name == "postgresql":  # what autovacuum does in steady state
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE tasks"))
                conn.execute(sa.text("VACUUM ANALYZE task_tags"))
        else:
            with db.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
        return user.id, project.id


def bare_app(app, statements: dict):
    """A plain Flask app: one route per case running the page SELECT and jsonify-ing rows."""
    from app.extensions import db

    with app.app_context():
        engine = db.engine
    bare = Flask("bare")

    @bare.get("/bare/<case>")
    def page(case: str):
        with engine.connect() as conn:
            rows = conn.execute(statements[case]).mappings().all()
        return jsonify({"items": [{
            "id": str(r["id"]), "project_id": str(r["project_id"]), "title": r["title"],
            "status": r["status"], "priority": r["priority"],
            "progress_percentage": r["progress_percentage"],
            "assigned_to": str(r["assigned_to"]) if r["assigned_to"] else None,
            "created_at": r["created_at"].isoformat(), "updated_at": r["updated_at"].isoformat(),
        } for r in rows]})

    return bare.test_client()


def run(database_url: str, n: int, requests: int) -> None:
    redis = EmbeddedRedis(TMP / "redis")
    redis_url = redis.start()
    try:
        app = make_app(database_url, redis_url)
        from flask_jwt_extended import create_access_token
        from flask_migrate import upgrade

        from app.extensions import db
        from app.models.user import User
        from app.services import task_query

        with app.app_context():
            upgrade()
        t0 = time.perf_counter()
        user_id, _ = seed(app, n)
        print(f"seeded {n:,} tasks in {time.perf_counter() - t0:.1f}s "
              f"({database_url.split(':')[0]})")
        with app.app_context():
            token = create_access_token(identity=str(user_id))
            user = db.session.get(User, user_id)
            statements = {}
            for case, params in CASES.items():
                filters = task_query.TaskFilters(**params)
                query = task_query.task_query(user, filters).limit(50)
                statements[case] = query.with_only_columns(*task_query.Task.__table__.c)
        client = app.test_client()
        bare = bare_app(app, statements)
        headers = {"Authorization": f"Bearer {token}"}
        print(f"{'case':16} {'endpoint p50/p99 ms':>22} {'sql p50/p99':>16} "
              f"{'bare p50/p99':>16} {'api/bare':>9} {'sql/bare':>9} {'count p50':>9} "
              "items total")
        for case, params in CASES.items():
            count = requests if case != "c search" else max(requests // 4, 20)
            times: dict[str, list[float]] = {"api": [], "sql": [], "bare": [], "count": []}
            total = items = None
            for i in range(count + 5):
                t = time.perf_counter()
                resp = client.get("/api/tasks/", query_string=params, headers=headers)
                api_ms = (time.perf_counter() - t) * 1000
                assert resp.status_code == 200, resp.get_json()
                data = resp.get_json()["data"]
                total, items = data["total"], len(data["items"])
                with app.app_context():
                    u = db.session.get(User, user_id)
                    t = time.perf_counter()
                    page = task_query.list_tasks(u, task_query.TaskFilters(**params), 1, 50)
                    _ = [task.tags for task in page.items]
                    sql_ms = (time.perf_counter() - t) * 1000
                    counted = task_query.task_query(u, task_query.TaskFilters(**params), True)
                    t = time.perf_counter()
                    db.session.scalar(counted.with_only_columns(sa.func.count()).order_by(None))
                    count_ms = (time.perf_counter() - t) * 1000
                t = time.perf_counter()
                resp = bare.get(f"/bare/{case}")
                bare_ms = (time.perf_counter() - t) * 1000
                assert len(resp.get_json()["items"]) == items
                if i >= 5:  # warm-up discarded
                    times["api"].append(api_ms)
                    times["sql"].append(sql_ms)
                    times["bare"].append(bare_ms)
                    times["count"].append(count_ms)
            api50, sql50, bare50 = (median(times[k]) for k in ("api", "sql", "bare"))
            print(f"{case:16} {api50:10.2f}/{pct(times['api'], 99):<10.2f} "
                  f"{sql50:7.2f}/{pct(times['sql'], 99):<8.2f} "
                  f"{bare50:7.2f}/{pct(times['bare'], 99):<8.2f} "
                  f"{api50 / bare50:8.2f}x {sql50 / bare50:8.2f}x "
                  f"{median(times['count']):9.2f} {items:5} {total}")
    finally:
        redis.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: temp SQLite)")
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    try:
        if args.database and args.database.startswith("postgresql"):
            run_postgresql(args.database, args.tasks, args.requests)
        else:
            run(args.database or f"sqlite:///{TMP / 'bench.db'}", args.tasks, args.requests)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)  # the 100k-task SQLite database is ~100 MB


def run_postgresql(base: str, n: int, requests: int) -> None:
    """In a private schema, dropped afterwards."""
    with private_schema(base, "bench") as url:
        run(url, n, requests)

if __name__ == "__main__":
    main()
