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
