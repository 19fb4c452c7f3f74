"""Fixtures of the worktree tests: real git repositories in the projects' workspaces, made the
way an operator (or an earlier run) would, and handed to the space's run account."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests import factories
from tests.jobs.fixtures import dev, engine_env, fake_claude, project, workers  # noqa: F401
from tests.pages.login_client import page_client  # noqa: F401

GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "HOME": "/nonexistent",
           "GIT_AUTHOR_NAME": "Setup", "GIT_AUTHOR_EMAIL": "setup@example.invalid",
           "GIT_COMMITTER_NAME": "Setup", "GIT_COMMITTER_EMAIL": "setup@example.invalid",
           "PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def git(cwd: Path | str, *args: str, check: bool = True) -> str:
    """git as the test itself (root here), for setting up and for looking at results."""
    done = subprocess.run(["git", "-c", "safe.directory=*", *args], cwd=cwd, env=GIT_ENV,
                          capture_output=True, text=True)
    if check and done.returncode:
        raise AssertionError(f"git {' '.join(args)}: {done.stderr}")
    return done.stdout


def workspace_of(app, project_id) -> Path:
    with app.app_context():
        from app.services import workspace

        return Path(os.path.realpath(workspace.project_dir(project_id)))


def hand_to_account(app, project_id) -> int | None:
    """Give the workspace's files to the space's run account (what a run would have made); the
    uid, or None when runs keep the test's own user."""
    with app.app_context():
        from app.services import run_identity, workspace

        base = workspace.create(project_id)
        identity = run_identity.for_space("project", project_id, base, workspace.root())
    if identity is None:
        return None
    for top, dirs, files in os.walk(base):
        for name in [*dirs, *files]:
            os.lchown(os.path.join(top, name), identity.uid, identity.gid)
    os.chown(base, identity.uid, identity.gid)
    return identity.uid


def make_repo(app, project_id, files: dict[str, str] | None = None, branch: str = "main") -> Path:
    """The project's workspace as a git repository with one commit of `files`."""
    ws = workspace_of(app, project_id)
    ws.mkdir(parents=True, exist_ok=True)
    git(ws, "init", "-q", "-b", branch)
    for name, content in (files or {"README.md": "hello\n"}).items():
        path = ws / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "initial")
    hand_to_account(app, project_id)
    return ws


def readable_repo(path: Path, files: dict[str, str]) -> Path:
    """A repository outside every workspace (a file:// clone source), readable by anyone."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    for name, content in files.items():
        (path / name).write_text(content)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "upstream")
    for top, dirs, names in os.walk(path):
        os.chmod(top, 0o755)
        for name in names:
            os.chmod(os.path.join(top, name), 0o644)
    return path


@pytest.fixture
def git_project(ctx, dev):  # noqa: F811
    """A developer's project with worktrees on and a repository in its workspace."""
    made = factories.project(dev, settings={"git": {"enabled": True}})
    make_repo(ctx, made.id, {"README.md": "hello\n", "src/app.py": "print('one')\n"})
    return made
