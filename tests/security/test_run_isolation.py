"""A run is untrusted code: whatever a shell task tries, it gets no server secret — not from the
key files, the database file, the worker's /proc entries, nor another project's workspace or
another user's scratch directory (issue 10, point 1 and 3).

The separation needs a root worker (runs then execute as their space's own account); where the
suite does not run as root these tests are skipped with that reason, and README says what holds
then.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests import factories
from tests.jobs.fixtures import execute, make_task, stdout_text, wait_final
from tests.live import wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="runs switch to their own account only when "
                                                 "the worker is root"),
]

ADMIN_PASSWORD = f"admin-pw-{uuid.uuid4().hex}"
KEY = f"jwt-key-{uuid.uuid4().hex}"


def _secret_file(directory: Path, name: str, value: str) -> Path:
    """A key file as `persistent_secret` writes it (mode 0600)."""
    path = directory / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return path


def _run_shell(client, auth, user, project, command: str) -> dict:
    task = make_task(project, user, command)
    resp = execute(client, auth(user), task.id)
    assert resp.status_code == 200, resp.get_json()
    return wait_final(client, auth(user), resp.get_json()["data"]["execution_id"])


def _sqlite_file(app_config: dict) -> Path | None:
    url = app_config["SQLALCHEMY_DATABASE_URI"]
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def test_a_shell_task_reads_no_server_secret(client, auth, dev, project, app_config,
                                              start_worker, engine_env):
    instance = Path(app_config["INSTANCE_PATH"])
    key_file = _secret_file(instance, ".jwt_secret_key", KEY)
    worker = start_worker(env={**engine_env, "ADMIN_PASSWORD": ADMIN_PASSWORD,
                               "JWT_SECRET_KEY": KEY})
    database = _sqlite_file(app_config)
    reads = [f"cat {key_file}", f"cat {instance}/.secret_key",
             "cat /proc/$PPID/environ", f"cat /proc/{worker.pid}/environ",
             f"cat /proc/{worker.pid}/cmdline", f"ls {instance}", "env"]
    if database is not None:
        reads.append(f"cat {database}")
        reads.append(f"ls {database.parent}")
    data = _run_shell(client, auth, dev, project,
                      "; ".join(f"{cmd} 2>&1; echo" for cmd in reads) + "; id -u")
    assert data["status"] == "completed", data["error"]
    output = stdout_text(data)
    for secret in (KEY, ADMIN_PASSWORD, "DATABASE_URL", "REDIS_URL", "SQLite format"):
        assert secret not in output
    assert "Permission denied" in output
    uid = int(output.strip().splitlines()[-1])
    assert uid != 0 and uid != os.geteuid()


def test_the_worker_keeps_no_admin_password_in_its_environment(start_worker, engine_env):
    """The set-up secret is gone from /proc/<worker>/environ, even read as root."""
    worker = start_worker(env={**engine_env, "ADMIN_PASSWORD": ADMIN_PASSWORD})
    environ = Path(f"/proc/{worker.pid}/environ").read_bytes()
    assert ADMIN_PASSWORD.encode() not in environ
    assert b"REDIS_URL=" in environ  # it is the worker's own environment we read


def test_a_project_run_cannot_reach_another_projects_workspace(client, auth, dev, project,
                                                               workers, app_config):
    workers(1)
    other_owner = factories.user(role="developer")
    other = factories.project(other_owner)
    written = _run_shell(client, auth, other_owner, other, "echo other-secret > notes.txt")
    assert written["status"] == "completed", written["error"]
    never_run = factories.project(other_owner)  # a workspace no run has used yet
    root = Path(app_config["WORKSPACE_ROOT"])
    (root / str(never_run.id)).mkdir(exist_ok=True)
    (root / str(never_run.id) / "plan.txt").write_text("unused-secret")
    probe = _run_shell(client, auth, dev, project,
                       f"cat {root}/{other.id}/notes.txt 2>&1; ls {root}/{other.id} 2>&1; "
                       f"cat {root}/{never_run.id}/plan.txt 2>&1; ls {root} 2>&1; "
                       "echo mine > mine.txt && cat mine.txt")
    output = stdout_text(probe)
    assert "other-secret" not in output and "unused-secret" not in output
    assert str(other.id) not in output.replace(f"{root}/{other.id}", "")
    assert output.count("Permission denied") >= 4
    assert output.rstrip().endswith("mine")  # its own workspace is its to write


def test_commands_without_a_project_run_in_a_private_scratch_directory(client, auth, dev,
                                                                       workers, make_user):
    workers(1)
    other = make_user(role="developer")

    def command(user, line: str) -> dict:
        resp = client.post("/api/commands/execute", json={"command": line},
                           headers=auth(user))
        assert resp.status_code in (200, 201, 202), resp.get_json()
        cid = resp.get_json()["data"]["command_id"]

        def done():
            data = client.get(f"/api/commands/{cid}/status?limit=10000",
                              headers=auth(user)).get_json()["data"]
            return data if data["status"] in ("completed", "failed", "cancelled") else None

        data = wait_for(done, 30, 0.05, f"command {cid}")
        return {**data, "text": "".join(line["content"] for line in data["output"])}

    first = command(dev, "echo scratch-secret > kept.txt; pwd")
    assert first["status"] == "completed", first
    scratch = first["text"].strip()
    assert scratch.endswith(f".users/{dev.id}")
    second = command(other, f"pwd; cat {scratch}/kept.txt 2>&1; ls {scratch} 2>&1; ls .. 2>&1")
    lines = second["text"].splitlines()
    assert lines[0].endswith(f".users/{other.id}")
    assert [line for line in lines[1:] if "Permission denied" not in line] == []
    assert len(lines) == 4  # the file, the other scratch and the list of scratches: all refused


def test_a_run_may_reopen_its_own_output_by_name(client, auth, dev, project, workers):
    """Its pipes belong to its account: `> /dev/stderr` works as in a terminal."""
    workers(1, SHELL_OUTPUT_STREAMS="separate")  # both pipes exist
    data = _run_shell(client, auth, dev, project,
                      "echo to-err > /dev/stderr && echo to-out > /dev/stdout && "
                      "echo via-fd > /dev/fd/1")
    assert data["status"] == "completed", data["error"]
    assert stdout_text(data) == "to-out\nvia-fd\n"
    assert stdout_text(data, "stderr") == "to-err\n"
