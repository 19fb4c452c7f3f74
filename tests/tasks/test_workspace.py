"""workspace.resolve: paths stay inside the project's workspace, symlinks included."""

from __future__ import annotations

import os
import uuid

import pytest

from app.errors import ValidationFailed
from app.services import workspace


@pytest.fixture
def project_id(ctx):
    pid = uuid.uuid4()
    workspace.create(pid)
    return pid


def test_inside_paths(project_id):
    base = workspace.resolve(project_id, None)
    assert base == workspace.project_dir(project_id).resolve() and base.is_dir()
    assert workspace.resolve(project_id, "") == base
    assert workspace.resolve(project_id, ".") == base
    assert workspace.resolve(project_id, "src/app") == base / "src" / "app"
    assert workspace.resolve(project_id, "src/../lib") == base / "lib"
    assert workspace.relative_to_workspace(project_id, "./a/b/") == "a/b"
    assert workspace.relative_to_workspace(project_id, "a/..") is None


@pytest.mark.parametrize("path", ["..", "../x", "a/../../x", "/etc", "/", "~/x", "a\x00b"])
def test_outside_paths_are_422(project_id, path):
    with pytest.raises(ValidationFailed) as info:
        workspace.resolve(project_id, path)
    assert info.value.status == 422 and info.value.details["field"] == "working_directory"


def test_symlinks_that_escape_are_422_and_inner_ones_are_fine(project_id, tmp_path):
    base = workspace.project_dir(project_id)
    os.symlink(tmp_path, base / "out")
    (base / "real").mkdir()
    os.symlink(base / "real", base / "in")
    with pytest.raises(ValidationFailed):
        workspace.resolve(project_id, "out")
    with pytest.raises(ValidationFailed):
        workspace.resolve(project_id, "out/deeper")
    assert workspace.resolve(project_id, "in") == (base / "real").resolve()


def test_without_a_project_the_users_scratch_is_the_base(ctx, project_id):
    user = uuid.uuid4()
    scratch = workspace.create(None, user)
    assert scratch.parent.parent == workspace.root()
    assert workspace.resolve(None, "tmp/x", user_id=user) == scratch.resolve() / "tmp" / "x"
    for escape in ("../elsewhere", f"../../{project_id}", "..", f"../{uuid.uuid4()}"):
        with pytest.raises(ValidationFailed):
            workspace.resolve(None, escape, user_id=user)


def test_sibling_project_is_outside(project_id):
    other = uuid.uuid4()
    workspace.create(other)
    with pytest.raises(ValidationFailed):
        workspace.resolve(project_id, f"../{other}")


def test_a_path_part_longer_than_a_file_name_is_a_422(project_id):
    with pytest.raises(ValidationFailed) as caught:
        workspace.resolve(project_id, "a/" + "x" * 256)
    assert caught.value.code == "VALIDATION_VALUE_TOO_LONG"
    assert workspace.resolve(project_id, "x" * 255).name == "x" * 255
