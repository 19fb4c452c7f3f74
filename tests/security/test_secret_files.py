"""Server files are the server's alone (issue 10, point 8), and no run environment may carry a
loader variable (point 2), whichever way it is given."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app
from app.config import persistent_secret, private_dir
from app.embedded_redis import EmbeddedRedis
from tests.jobs.fixtures import make_task


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_instance_directory_and_its_key_files_are_private(tmp_path, monkeypatch):
    monkeypatch.delenv("JWT_SECRET_KEY_FOR_TEST", raising=False)
    instance = tmp_path / "instance"
    value = persistent_secret("JWT_SECRET_KEY_FOR_TEST", instance)
    assert value and _mode(instance) == 0o700
    assert _mode(instance / ".jwt_secret_key_for_test") == 0o600
    assert persistent_secret("JWT_SECRET_KEY_FOR_TEST", instance) == value


def test_an_existing_open_instance_directory_loses_group_and_other_access(tmp_path):
    instance = tmp_path / "old-instance"
    instance.mkdir()
    instance.chmod(0o755)
    private_dir(instance)
    assert _mode(instance) == 0o711  # runs may still pass through to their workspaces


def test_the_sqlite_database_file_is_created_0600(tmp_path, app_config):
    database = tmp_path / "app.db"
    application = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}"})
    with application.app_context():
        from app.extensions import db

        with db.engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
            conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        written = [p for p in tmp_path.iterdir() if p.name.startswith("app.db")]
        assert database in written
        assert {p.name: _mode(p) for p in written} == {p.name: 0o600 for p in written}
        db.engine.dispose()


def test_the_embedded_redis_directory_is_private(tmp_path):
    directory = tmp_path / "redis"
    directory.mkdir(mode=0o755)
    server = EmbeddedRedis(directory)
    try:
        server.start()
        assert _mode(directory) == 0o700
    finally:
        server.stop()


@pytest.mark.parametrize("name", ["BASH_ENV", "ENV", "LD_PRELOAD", "LD_LIBRARY_PATH", "PERL5OPT",
                                  "PYTHONSTARTUP", "NODE_OPTIONS", "BASH_FUNC_ls%%",
                                  "ANTHROPIC_BASE_URL", "ld_preload"])
def test_loader_variables_are_refused_on_execute(client, auth, dev, project, name):
    task = make_task(project, dev, "true")
    resp = client.post(f"/api/tasks/{task.id}/execute", headers=auth(dev),
                       json={"options": {"environment": {name: "/tmp/x"}}})
    assert resp.status_code == 422, resp.get_json()
    error = resp.get_json()["error"]
    assert error["details"]["field"].startswith("options.environment")
    runs = client.get(f"/api/tasks/{task.id}/executions", headers=auth(dev)).get_json()
    assert runs["data"]["items"] == []


def test_loader_variables_are_refused_in_task_metadata_and_commands(client, auth, dev, project):
    task = make_task(project, dev, "true", metadata={"environment": {"LD_PRELOAD": "/x.so"}})
    resp = client.post(f"/api/tasks/{task.id}/execute", headers=auth(dev), json={})
    assert resp.status_code == 422
    assert resp.get_json()["error"]["details"]["field"] == "metadata.environment.LD_PRELOAD"
    resp = client.post("/api/commands/execute", headers=auth(dev),
                       json={"command": "true", "environment": {"BASH_ENV": "/tmp/x"}})
    assert resp.status_code == 422
    assert resp.get_json()["error"]["details"]["field"] == "environment.BASH_ENV"
    listed = client.get("/api/commands/history", headers=auth(dev))
    assert listed.status_code == 200 and listed.get_json()["data"]["commands"] == []
