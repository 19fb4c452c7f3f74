"""Fixtures: a real Redis and a real database for the whole run, cleaned between tests.

Redis: `TEST_REDIS_URL`, else `REDIS_URL` (its database is flushed between tests!), else an
embedded Redis started for this run. Database: `TEST_DATABASE_URL` (PostgreSQL: a private schema
per run, dropped at the end), else a SQLite file in a temporary directory. The schema comes from
the migrations, as in production.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Before the app is imported: secrets and instance files of this run only, never the repo's
# instance/; child processes (workers, servers) inherit the same keys.
os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp(prefix="claude-ui-test-"))
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(32))
os.environ.setdefault("JWT_SECRET_KEY", secrets.token_urlsafe(32))
os.environ.setdefault("APP_ENV", "test")

from app import create_app  # noqa: E402
from app.config import TestConfig  # noqa: E402
from app.embedded_redis import EmbeddedRedis  # noqa: E402
from app.private_schema import private_schema  # noqa: E402
from tests import factories  # noqa: E402
from tests.browser import browser, page_for  # noqa: E402, F401
from tests.live import GunicornServer, ThreadedServer, WorkerProcess, child_env  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _runs_reach_test_dirs(tmp_path_factory) -> None:
    """Run as root, the workers execute runs as unprivileged uids (app.services.run_identity):
    let those pass through (never list) the run's temporary directories, as they can through
    an installation's own directories."""
    base = tmp_path_factory.getbasetemp()
    root = Path(tempfile.gettempdir()).resolve()
    for path in (base, *base.parents):  # pytest-of-<user>/pytest-N/[popen-gwN/]
        if path == root or root not in path.parents:
            break
        path.chmod(path.stat().st_mode | 0o111)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:
    url = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL")
    if url:
        yield _database_of_this_process(url)
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    yield server.start()
    server.stop()


def _database_of_this_process(url: str) -> str:
    """Parallel runs (pytest-xdist) flush their Redis between tests: each gets its own database
    of a shared server (gw0 the URL's own, gw1 the next, ...)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    offset = int(worker[2:]) if worker[2:].isdigit() else 0
    if not offset:
        return url
    from redis.connection import parse_url

    base = int(parse_url(url).get("db") or 0)
    head, mark, query = url.partition("?")
    prefix = head.rsplit("/", 1)[0] if head.count("/") > 2 else head
    return f"{prefix}/{base + offset}{mark}{query}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    with private_schema(base, f"t_{os.getpid()}") as url:
        yield url


@pytest.fixture(scope="session")
def app_config(tmp_path_factory, redis_url, database_url) -> dict:
    instance = tmp_path_factory.mktemp("instance")
    return {
        "TESTING": True,
        "ENVIRONMENT": "test",
        "PASSWORD_HASH": TestConfig.PASSWORD_HASH,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "INSTANCE_PATH": str(instance),
        "WORKSPACE_ROOT": str(instance / "workspaces"),
    }


@pytest.fixture(scope="session")
def app(app_config):
    from flask_migrate import upgrade

    application = create_app(dict(app_config))
    with application.app_context():
        upgrade()
    Path(app_config["WORKSPACE_ROOT"]).mkdir(parents=True, exist_ok=True)
    yield application
    # Stop this process's realtime hub before the run's Redis goes away (no noise at exit).
    from app.realtime.hub import _EXT_KEY

    hub = application.extensions.get(_EXT_KEY)
    if hub is not None:
        hub.stop()


@pytest.fixture(autouse=True)
def _clean(request):
    """Every test starts with empty tables and an empty Redis database."""
    yield
    if "app" not in request.fixturenames:
        return
    application = request.getfixturevalue("app")
    with application.app_context():
        from app.extensions import db, get_redis
        from app.services import system

        db.session.remove()
        tables = [t for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    conn.execute(table.delete())
        get_redis().flushdb()
        system._cache.clear()


@pytest.fixture
def ctx(app):
    """An app context for tests that talk to services and models directly."""
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(app):
    """`make_user(role="viewer", ...)`: a new user (detached, with `.password`)."""

    def make(**kwargs):
        with app.app_context():
            return factories.user(**kwargs)

    return make


@pytest.fixture
def auth(app):
    """`auth(user)` returns headers with a fresh access token for `user`."""

    def headers(user) -> dict[str, str]:
        with app.app_context():
            from flask_jwt_extended import create_access_token

            return {"Authorization": f"Bearer {create_access_token(identity=str(user.id))}"}

    return headers


@pytest.fixture
def admin(make_user):
    return make_user(role="admin", username=f"admin-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def developer(make_user):
    return make_user(role="developer")


@pytest.fixture
def viewer(make_user):
    return make_user(role="viewer")


@pytest.fixture
def worker_env(app_config) -> dict[str, str]:
    """Environment for child processes of this run (add keys per test as needed)."""
    return child_env(app_config)


@pytest.fixture
def start_worker(app, worker_env):
    """`start_worker(queues="high,normal,low", env=None)`: a real `worker.py` process, stopped
    after the test."""
    started: list[WorkerProcess] = []

    def start(queues: str = "high,normal,low", env: dict | None = None, **kwargs):
        worker = WorkerProcess(env or worker_env, queues=queues, **kwargs).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def live_server(app):
    """This test's app on a real threaded HTTP server (websockets work); yields its URL."""
    server = ThreadedServer(app).start()
    yield server.url
    server.stop()


@pytest.fixture
def start_gunicorn(app, worker_env):
    """`start_gunicorn()`: a separate gunicorn web process; stopped after the test."""
    started: list[GunicornServer] = []

    def start(**kwargs) -> GunicornServer:
        server = GunicornServer(worker_env, **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def project_of(app):
    """`project_of(owner, **fields)`: a project made through the service (detached)."""

    def make(owner, **kwargs):
        with app.app_context():
            return factories.project(owner, **kwargs)

    return make


@pytest.fixture
def task_of(app):
    """`task_of(project, creator, **fields)`: a task made through the service (detached)."""

    def make(project, creator, **kwargs):
        with app.app_context():
            return factories.task(project, creator, **kwargs)

    return make
