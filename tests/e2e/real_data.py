"""Data as people really type it, for layout tests: a 200-character title without a space, 20
long tags, a long command (and its long output line), long names, URLs and settings, tasks in
every board column. Everything is made through the services, like the app itself writes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.models.task import TASK_STATUSES
from tests import factories

LONG_TITLE = "Refactor" + "".join(f"Module{i:03d}" for i in range(40))  # no space at all
LONG_TITLE = (LONG_TITLE + "X" * 200)[:200]
LONG_TAGS = [f"tag{i:02d}-" + "abcdefghij" * 4 + f"-x{i:02d}" for i in range(20)]  # 50 chars
LONG_PATH = "/".join(f"directory{i:02d}withaverylongname" for i in range(30))  # ~900 chars
LONG_COMMAND = f"echo {LONG_PATH}"
LONG_NAME = "Project" + "WithAnUnbrokenNameThatGoesOnAndOn" * 6  # ~200 chars, no space


@dataclass
class RealData:
    """Ids of what `make` created (strings), for building page URLs."""

    project: str
    task: str
    blocked: str
    session: str
    webhook: str
    by_status: dict[str, str]


def tags_ok() -> None:
    """The fixtures stay what the tests say they are (a wrong fixture proves nothing)."""
    assert len(LONG_TITLE) == 200 and " " not in LONG_TITLE
    assert len(LONG_TAGS) == 20 and all(len(t) == 50 for t in LONG_TAGS)
    assert len(LONG_COMMAND) > 500


def make(owner: Any) -> RealData:
    """Create the data (call inside an app context). `owner` is a detached user."""
    from app.services import dependencies, sessions, webhooks

    tags_ok()
    project = factories.project(owner, name=LONG_NAME[:200],
                                description="A description with a " + "verylongword" * 40)
    task = factories.task(project, owner, title=LONG_TITLE, tags=LONG_TAGS, executor="shell",
                          command=LONG_COMMAND, description="Notes: " + "unbroken" * 80)
    blocked = factories.task(project, owner, title="Blocked" + "Z" * 150, executor="shell",
                             command="echo blocked", tags=LONG_TAGS[:5])
    by_status = {}
    for status in TASK_STATUSES:
        made = factories.task(project, owner, title=f"{status.title()}" + "W" * 190,
                              tags=LONG_TAGS[:8], executor="shell", command=LONG_COMMAND,
                              status=status)
        by_status[status] = str(made.id)
    # `blocked` waits for a task that is not done: executing it is a 409.
    dependencies.add_dependency(blocked.id, _attached(owner), by_status["pending"])
    user = _attached(owner)
    session = sessions.create_session(user, project.id,
                                      {"note": "n" * 300, "path": LONG_PATH[:500]})
    hook, _secret = webhooks.create_webhook(
        user, "http://127.0.0.1:9/hooks/" + "segment" * 120, ["task.created", "task.failed"],
        description="d" * 180)
    return RealData(project=str(project.id), task=str(task.id), blocked=str(blocked.id),
                    session=str(session.id),
                    webhook=str(hook.id), by_status=by_status)


def _attached(user: Any) -> Any:
    from app.extensions import db
    from app.models.user import User

    return db.session.get(User, user.id)
