"""Who a run executes as: never the server's own OS user when the server can choose.

A run is untrusted code. When the worker runs as root (`RUN_ISOLATION=auto`, the default), every
process of a run executes as an unprivileged account of its *space*: one per project (its
workspace) and one per user (their scratch directory, for commands outside any project). The
account's uid (and gid) is `RUN_UID_BASE + run_accounts.id`, so two spaces never share one. The
space's directory and a private home directory belong to that uid with mode 0700, and the run
gets no supplementary groups. So a run can read and write its own space and nothing of another
project's, cannot read the server's key files or database (0600, the server's user), and cannot
read `/proc/<pid>/environ` or memory of the worker (another uid).

A worker that is not root cannot switch users: runs then share its uid, and only what does not
depend on file permissions holds (the sanitized environment, the worker made non-dumpable so
its /proc entries are closed to its children). README "Runs are untrusted" says so.
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models.run_account import RunAccount
from app.services.engine_config import setting

log = logging.getLogger(__name__)

PRIVATE = 0o700
TRAVERSE = 0o711  # others may pass through to their own space, not list or read


@dataclass(frozen=True)
class RunIdentity:
    """The uid/gid a run executes as and the home directory it gets."""

    uid: int
    gid: int
    home: str

    def popen_kwargs(self) -> dict:
        """Arguments for `subprocess.Popen`: the switch happens in the child after its chdir,
        with no supplementary groups, and new files private to the space."""
        return {"user": self.uid, "group": self.gid, "extra_groups": [], "umask": 0o077}

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        """The run's environment with the account's own HOME, USER and LOGNAME (the worker's
        would name root and a home the run cannot use)."""
        name = f"run{self.uid}"
        return {**env, "HOME": self.home, "USER": name, "LOGNAME": name}


def enabled() -> bool:
    """Whether runs execute as their space's account: only a root worker can switch users."""
    mode = str(setting("RUN_ISOLATION") or "auto").lower()
    return mode not in {"off", "0", "false", "no"} and os.geteuid() == 0


def account_id(kind: str, space_id: uuid.UUID) -> int:
    """The id of the space's run account, made on first use (two workers racing agree)."""
    query = select(RunAccount.id).where(RunAccount.space_kind == kind,
                                        RunAccount.space_id == space_id)
    found = db.session.execute(query).scalar()
    if found is not None:
        return found
    try:
        with db.session.begin_nested():
            row = RunAccount(space_kind=kind, space_id=space_id)
            db.session.add(row)
        db.session.commit()
        return row.id
    except IntegrityError:
        db.session.rollback()
        return db.session.execute(query).scalar_one()


def secure_root(root: Path) -> None:
    """WORKSPACE_ROOT (and the instance directory when it holds it) let a run's account pass
    through to its own space, never list it; everything else there stays the server's."""
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, TRAVERSE)
    instance = Path(os.path.abspath(current_app.config.get("INSTANCE_PATH") or root.parent))
    if instance in root.parents:
        os.chmod(instance, TRAVERSE)


def own(path: Path, uid: int) -> None:
    """Make `path` a directory private to `uid` (its own files are left as they are)."""
    path.mkdir(parents=True, exist_ok=True)
    stat = path.stat()
    if (stat.st_uid, stat.st_gid) != (uid, uid):
        os.chown(path, uid, uid)
    if stat.st_mode & 0o777 != PRIVATE:
        os.chmod(path, PRIVATE)


def for_space(kind: str, space_id: uuid.UUID, directory: Path, root: Path
              ) -> RunIdentity | None:
    """The identity a run in `directory` (the space's top directory) executes as, with the
    directory and the account's home made ready; None when runs keep the worker's user."""
    if not enabled():
        return None
    uid = int(setting("RUN_UID_BASE")) + account_id(kind, space_id)
    secure_root(root)
    home = root / ".homes" / str(uid)
    for path in (directory, home):
        for between in path.relative_to(root).parents:  # e.g. .users/, .homes/: pass only
            if between != Path("."):
                (root / between).mkdir(exist_ok=True)
                os.chmod(root / between, TRAVERSE)
        own(path, uid)
    return RunIdentity(uid=uid, gid=uid, home=str(home))


def prepare_run(project_id: uuid.UUID | None, user_id: uuid.UUID | None,
                relative: str | None) -> tuple[str, RunIdentity | None]:
    """(working directory, identity) of a run: its space made ready for its account, and the
    directory checked inside it (a 422-style AppError or ValueError when it is not)."""
    from app.services import workspace

    base = workspace.create(project_id, user_id)
    kind, space_id = workspace.space_of(project_id, user_id)
    identity = for_space(kind, space_id, base, workspace.root())
    return str(workspace.resolve(project_id, relative, user_id=user_id)), identity
