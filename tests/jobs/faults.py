"""Helpers of the fault tests: a Redis of the test's own (stopped and started for real), an app
instance bound to it, and database reads of a run's stored output.

The shared test Redis is never stopped; workers of a fault test get the private Redis through
their environment (`workers(1, REDIS_URL=outage.url)`).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app import create_app
from app.embedded_redis import EmbeddedRedis


class Outage:
    """A private Redis (`persist`: an append-only file, so a restart keeps its data; else a
    restart comes back empty) and an app instance that uses it."""

    def __init__(self, directory: Path, app_config: dict, persist: bool) -> None:
        self.redis = EmbeddedRedis(directory, persist=persist)
        self.url = self.redis.start()
        self.app = create_app(dict(app_config, REDIS_URL=self.url))
        self.client = self.app.test_client()

    def stop_redis(self) -> None:
        self.redis.stop()

    def start_redis(self) -> None:
        self.redis.start()

    def close(self) -> None:
        from app.realtime.hub import _EXT_KEY

        hub = self.app.extensions.get(_EXT_KEY)
        if hub is not None:
            hub.stop()
        self.redis.stop()


@pytest.fixture
def outage(app_config, tmp_path):
    """`outage(persist=False)`: an `Outage` of this test, stopped afterwards."""
    made: list[Outage] = []

    def make(persist: bool = False) -> Outage:
        made.append(Outage(tmp_path / f"redis-{len(made)}", app_config, persist))
        return made[-1]

    yield make
    for item in made:
        item.close()


@pytest.fixture
def session_of(app):
    """`session_of(user)`: the id of a new session of `user` (for a socket)."""

    def make(user) -> str:
        with app.app_context():
            from app.extensions import db
            from app.models.user import User
            from app.services import sessions

            return str(sessions.create_session(db.session.get(User, user.id), None, None).id)

    return make


def stored(owner_type: str, owner_id: str | uuid.UUID) -> tuple[int, int]:
    """(number of stored lines, highest seq) of a run, read from the database now."""
    from app.extensions import db
    from app.models.execution import OutputLine

    db.session.rollback()
    count, top = db.session.execute(
        select(func.count(OutputLine.id), func.max(OutputLine.seq))
        .where(OutputLine.owner_type == owner_type,
               OutputLine.owner_id == uuid.UUID(str(owner_id)))).one()
    db.session.rollback()
    return count, top or 0


def full_log(worker) -> str:
    """The worker's whole log (`WorkerProcess.log()` keeps only its end, which RQ's
    tracebacks during an outage can fill)."""
    try:
        return worker.log_path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def status_of(owner_type: str, owner_id: str | uuid.UUID) -> str:
    from app.extensions import db
    from app.models.command import CommandRun
    from app.models.execution import TaskExecution

    db.session.rollback()
    model = TaskExecution if owner_type == "execution" else CommandRun
    status = db.session.scalar(select(model.status).where(model.id == uuid.UUID(str(owner_id))))
    db.session.rollback()
    return status
