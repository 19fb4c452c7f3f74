"""Project workspaces: `WORKSPACE_ROOT/<project_id>`, and the one check that keeps paths inside.

Every directory a task or command runs in comes from `resolve()`, so a working directory can
never point outside its workspace: not with `..`, not as an absolute path, and not through a
symlink that leads out (the check runs on the real, symlink-free path). Tasks use their
project's workspace; commands run without a project use their user's private scratch directory
`WORKSPACE_ROOT/.users/<user_id>` (never the root itself, where every project's files are; admins
included: a run is untrusted code whoever starts it).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from flask import current_app

from app.errors import ValidationFailed

MAX_PATH_LENGTH = 1000
MAX_NAME_BYTES = 255  # a file name's limit on Linux file systems


def root() -> Path:
    """`WORKSPACE_ROOT` as an absolute path (it need not exist yet)."""
    return Path(os.path.abspath(current_app.config["WORKSPACE_ROOT"]))


def project_dir(project_id: uuid.UUID | str) -> Path:
    """Where a project's files live; ids are UUIDs, so the name cannot escape the root."""
    return root() / str(uuid.UUID(str(project_id)))


def scratch_dir(user_id: uuid.UUID | str) -> Path:
    """Where a user's commands outside any project run."""
    return root() / ".users" / str(uuid.UUID(str(user_id)))


def base_dir(project_id: uuid.UUID | str | None, user_id: uuid.UUID | str | None = None) -> Path:
    """The top directory of a run's space: the project's workspace, else the user's scratch."""
    if project_id is not None:
        return project_dir(project_id)
    if user_id is None:
        raise ValueError("a run outside a project needs its user")
    return scratch_dir(user_id)


def space_of(project_id: uuid.UUID | str | None, user_id: uuid.UUID | str | None = None
             ) -> tuple[str, uuid.UUID]:
    """(kind, id) of the space a run belongs to, for its run account."""
    if project_id is not None:
        return "project", uuid.UUID(str(project_id))
    return "user", uuid.UUID(str(user_id))


def create(project_id: uuid.UUID | str | None, user_id: uuid.UUID | str | None = None) -> Path:
    """Make (or keep) the space's directory and return it: private (0700) from the start, so
    no other space's run can look in before this space's first run makes it its account's."""
    path = base_dir(project_id, user_id)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def resolve(project_id: uuid.UUID | str | None, relative: str | None,
            field: str = "working_directory", user_id: uuid.UUID | str | None = None) -> Path:
    """The real directory `relative` names inside the project's workspace (or inside the
    user's scratch directory when `project_id` is None).

    Empty or None means the workspace itself. Absolute paths, NUL bytes and anything whose
    real path (symlinks followed) lies outside the base are a 422 on `field`. The directory
    does not have to exist yet: a missing tail is resolved lexically below the real base.
    """
    real_base = Path(os.path.realpath(base_dir(project_id, user_id)))
    if relative is None or relative.strip() in ("", "."):
        return real_base
    if "\x00" in relative:
        raise ValidationFailed(field, "must not contain NUL bytes",
                               code="VALIDATION_INVALID_FORMAT")
    if len(relative) > MAX_PATH_LENGTH:
        raise ValidationFailed(field, f"at most {MAX_PATH_LENGTH} characters",
                               code="VALIDATION_VALUE_TOO_LONG")
    if os.path.isabs(relative) or relative.startswith("~"):
        raise ValidationFailed(field, "must be a path relative to the project workspace")
    if any(len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES
           for part in relative.split("/")):
        raise ValidationFailed(field, f"each part of the path is at most {MAX_NAME_BYTES} bytes",
                               code="VALIDATION_VALUE_TOO_LONG")
    candidate = Path(os.path.realpath(real_base / relative))
    if candidate != real_base and real_base not in candidate.parents:
        raise ValidationFailed(field, "resolves outside the project workspace")
    return candidate


def relative_to_workspace(project_id: uuid.UUID | str | None, relative: str | None,
                          field: str = "working_directory",
                          user_id: uuid.UUID | str | None = None) -> str | None:
    """`resolve()` then express the result relative to the base, as tasks store it
    (None for the workspace root)."""
    resolved = resolve(project_id, relative, field, user_id)
    base = Path(os.path.realpath(base_dir(project_id, user_id)))
    rel = resolved.relative_to(base).as_posix()
    return None if rel in ("", ".") else rel
