"""Test data made through the services, so every row is what the app itself would write."""

from __future__ import annotations

import itertools

from app.extensions import db

_counter = itertools.count(1)
DEFAULT_PASSWORD = "correct-horse-battery"


def user(role: str = "developer", username: str | None = None, password: str = DEFAULT_PASSWORD,
         tier: str = "standard", **kwargs):
    """A user created like the CLI does; `.password` keeps the plain password for login tests."""
    from app.services.users import create_user

    name = username or f"{role}{next(_counter)}"
    created = create_user(name, password, role=role, tier=tier, **kwargs)
    db.session.refresh(created)
    created.password = password
    db.session.expunge(created)
    return created


def _detached(obj):
    """Load every column, then detach, so tests can read it outside the app context."""
    db.session.refresh(obj)
    getattr(obj, "tag_rows", None)  # tasks: their tags too
    db.session.expunge(obj)
    return obj


def _override(obj, columns: dict):
    if columns:
        for name, value in columns.items():
            setattr(obj, name, value)
        db.session.commit()


def project(owner, name: str | None = None, **kwargs):
    """A project created through `services.projects.create_project` (workspace directory and
    audit entry included), owned by `owner`. Call inside an app context.

    Service fields: name, description, settings, resource_limits. Any other keyword is a column
    set directly afterwards (e.g. `status="archived"`), for states the API reaches only later.
    Returns the project detached, columns loaded.
    """
    from app.services.projects import create_project

    service = {k: kwargs.pop(k) for k in ("description", "settings", "resource_limits")
               if k in kwargs}
    created = create_project(owner, name or f"Project {next(_counter)}", **service)
    _override(created, kwargs)
    return _detached(created)


TASK_SERVICE_FIELDS = ("description", "priority", "estimated_duration", "assigned_to", "tags",
                       "metadata", "executor", "command", "working_directory")


def task(project, creator, title: str | None = None, **kwargs):
    """A task created through `services.tasks.create_task` in `project` by `creator`. Call
    inside an app context.

    Service fields as the API takes them: description, priority, estimated_duration
    ("HH:MM:SS"), assigned_to, tags, metadata, executor, command, working_directory. Any other
    keyword is a column set directly afterwards without history (status, created_at,
    started_at, completed_at, actual_duration seconds, progress_percentage, ...), for
    fixtures in states the API reaches only over time. Returns the task detached.
    """
    from app.services.tasks import create_task

    data = {k: kwargs.pop(k) for k in TASK_SERVICE_FIELDS if k in kwargs}
    data.update(project_id=project.id, title=title or f"Task {next(_counter)}")
    created = create_task(creator, data)
    _override(created, kwargs)
    return _detached(created)


def execution(task, user, status: str = "running", **columns):
    """A task execution row as the engine leaves it (no job queued: for pages and sockets
    that only read runs). Call inside an app context; returns its id."""
    from app.errors import utcnow
    from app.models.execution import TaskExecution

    run = TaskExecution(task_id=task.id, project_id=task.project_id, triggered_by=user.id,
                        status=status, executor=columns.pop("executor", "shell"),
                        command=columns.pop("command", "make"), started_at=utcnow(),
                        **columns)
    db.session.add(run)
    db.session.commit()
    return run.id


def command(user, project=None, status: str = "running", command_line: str = "make test",
            **columns):
    """A command run row (no job queued). Call inside an app context; returns its id."""
    from app.errors import utcnow
    from app.models.command import CommandRun

    run = CommandRun(user_id=user.id, project_id=project.id if project else None,
                     command=command_line, status=status, started_at=utcnow(), **columns)
    db.session.add(run)
    db.session.commit()
    return run.id


def output_lines(owner_type: str, owner_id, lines, start: int = 1) -> int:
    """Store output lines in bulk: `lines` are strings or dicts (content, stream, kind, data),
    numbered from `start`. Returns the last seq. Call inside an app context."""
    from sqlalchemy import insert

    from app.errors import utcnow
    from app.models.execution import OutputLine

    now = utcnow()
    rows = []
    for seq, line in enumerate(lines, start):
        item = {"content": line} if isinstance(line, str) else dict(line)
        rows.append({"owner_type": owner_type, "owner_id": owner_id, "seq": seq,
                     "stream": item.get("stream", "stdout"), "kind": item.get("kind", "line"),
                     "content": item.get("content", ""), "data": item.get("data"),
                     "timestamp": now})
    for i in range(0, len(rows), 5000):
        db.session.execute(insert(OutputLine), rows[i:i + 5000])
    db.session.commit()
    return start + len(rows) - 1
