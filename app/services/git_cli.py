"""Running git for a project's workspace: as the space's account, bounded, without a shell.

A workspace belongs to its run account (app.services.run_identity): runs write its files,
`.git/config` and hooks included. So every git command the server or a worker runs on it runs
as that account too (the same Popen arguments as a run: uid, gid, no supplementary groups,
umask 077) — git would refuse a repository owned by someone else ("dubious ownership"), and
whatever git might be talked into starting gets no more than a run already has. On top:

- the environment is built from nothing: PATH, the account's HOME, C locale, no system or
  global configuration (`GIT_CONFIG_NOSYSTEM`, `GIT_CONFIG_GLOBAL=/dev/null`), no terminal
  prompts, discovery stopped at WORKSPACE_ROOT (`GIT_CEILING_DIRECTORIES`: an empty workspace
  never finds a repository above it), and transports limited to https, ssh and file;
- every command gets `-c core.hooksPath=/dev/null` (no hook runs), no fsmonitor, no pager, no
  credential helper, no automatic gc; diffs add `--no-ext-diff --no-textconv`;
- the process runs in its own session with a timeout; at the timeout its whole group is killed;
- output is read up to a byte cap (a diff of a huge file cannot fill the server's memory).

What remains possible: filter drivers (`filter.<name>.clean` in the repository's own config,
selected by `.gitattributes`) run when git reads working-tree files. They run as the space's
account, in this sanitized environment, and die with the command's group at its timeout.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import AppError
from app.services.engine_config import setting
from app.services.run_identity import RunIdentity

DEFAULTS = {
    "GIT_TIMEOUT": 60,          # seconds for one git command on a workspace
    "GIT_CLONE_TIMEOUT": 600,   # seconds for cloning settings.git.repository_url
}
MAX_OUTPUT = 64 * 1024 * 1024
MAX_STDERR = 64 * 1024
SAFETY = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "core.pager=cat",
          "-c", "color.ui=false", "-c", "core.quotePath=false", "-c", "gc.auto=0",
          "-c", "maintenance.auto=false", "-c", "credential.helper=",
          "-c", "protocol.allow=never", "-c", "protocol.https.allow=always",
          "-c", "protocol.ssh.allow=always", "-c", "protocol.file.allow=always",
          "-c", "advice.detachedHead=false", "-c", "init.defaultBranch=main")


def timeout_of(name: str) -> float:
    return float(setting(name, DEFAULTS))


@dataclass
class Result:
    code: int
    out: bytes
    err: str
    truncated: bool = False

    @property
    def text(self) -> str:
        return self.out.decode("utf-8", "replace")


@dataclass
class Git:
    """git for one space: its account (None: the server's own user) and where discovery stops."""

    identity: RunIdentity | None
    ceiling: str
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        home = self.identity.home if self.identity else os.environ.get("HOME", "/")
        env = {"PATH": os.environ.get("PATH") or os.defpath, "HOME": home, "LC_ALL": "C",
               "LANG": "C", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
               "GIT_ATTR_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
               "GIT_ALLOW_PROTOCOL": "https:ssh:file", "GIT_PROTOCOL_FROM_USER": "0",
               "GIT_CEILING_DIRECTORIES": self.ceiling, "GIT_OPTIONAL_LOCKS": "0",
               "GIT_SSH_COMMAND": "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new"}
        if self.identity:
            name = f"run{self.identity.uid}"
            env.update(USER=name, LOGNAME=name)
        return {**env, **self.extra_env}

    def run(self, args: list[str], cwd: str | Path, *, check: bool = True,
            timeout: float | None = None, env: dict[str, str] | None = None,
            max_bytes: int = MAX_OUTPUT, what: str | None = None) -> Result:
        """`git <safety flags> <args>` in `cwd`; a non-zero exit raises GIT_OPERATION_FAILED
        with git's own message unless `check` is False."""
        return self.tool(["git", *SAFETY, *args], cwd, check=check, timeout=timeout, env=env,
                         max_bytes=max_bytes, what=what or f"git {args[0]}")

    def tool(self, argv: list[str], cwd: str | Path, *, check: bool = True,
             timeout: float | None = None, env: dict[str, str] | None = None,
             max_bytes: int = MAX_OUTPUT, what: str | None = None,
             stdin: bytes | None = None) -> Result:
        """Run `argv` (no shell) as the space's account; see `run`."""
        program = shutil.which(argv[0], path=os.environ.get("PATH") or os.defpath)
        if program is None:
            raise AppError("GIT_REPOSITORY_UNAVAILABLE",
                           f"'{argv[0]}' is not installed on this server (git worktrees need it)")
        limit = timeout if timeout is not None else timeout_of("GIT_TIMEOUT")
        kwargs = self.identity.popen_kwargs() if self.identity else {}
        try:
            proc = subprocess.Popen([program, *argv[1:]], cwd=str(cwd), env={
                **self.env(), **(env or {})},
                stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, start_new_session=True, **kwargs)
        except OSError as exc:
            raise AppError("GIT_OPERATION_FAILED", f"{what or argv[0]} could not start: "
                           f"{exc.strerror or exc}") from None
        if stdin is not None:
            assert proc.stdin is not None
            try:
                proc.stdin.write(stdin)  # small (a line for tee); read only after
                proc.stdin.close()
            except OSError:
                pass
        result = _collect(proc, limit, max_bytes)
        if result is None:
            raise AppError("GIT_OPERATION_FAILED", f"{what or argv[0]} did not finish within "
                           f"{limit:g} s and was stopped")
        if check and result.code != 0 and not result.truncated:
            raise AppError("GIT_OPERATION_FAILED", f"{what or argv[0]} failed: "
                           f"{message_of(result)}", {"exit_code": result.code})
        return result


def message_of(result: Result) -> str:
    """git's own explanation: its last meaningful stderr lines (hints dropped)."""
    lines = [line.strip() for line in result.err.splitlines()
             if line.strip() and not line.startswith("hint:")]
    return " ".join(lines[-3:])[:1000] or f"exit code {result.code}"


def _collect(proc: subprocess.Popen, timeout: float, max_bytes: int) -> Result | None:
    """stdout up to `max_bytes` and stderr (its tail) of a started process; None on timeout
    (the process group is then killed)."""
    expired = threading.Event()

    def kill(*_: object) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def on_timeout() -> None:
        expired.set()
        kill()

    timer = threading.Timer(timeout, on_timeout)
    timer.daemon = True
    timer.start()
    err = bytearray()

    def read_err() -> None:
        assert proc.stderr is not None
        for chunk in iter(lambda: proc.stderr.read(8192), b""):
            err.extend(chunk)
            del err[:-MAX_STDERR]

    reader = threading.Thread(target=read_err, daemon=True)
    reader.start()
    out = bytearray()
    truncated = False
    try:
        assert proc.stdout is not None
        for chunk in iter(lambda: proc.stdout.read(65536), b""):
            if len(out) + len(chunk) > max_bytes:
                out.extend(chunk[:max_bytes - len(out)])
                truncated = True
                kill()
                break
            out.extend(chunk)
        code = proc.wait()
    finally:
        timer.cancel()
        proc.stdout.close()
        reader.join(timeout=5)
        proc.stderr.close()
    if expired.is_set():
        return None
    return Result(code=code, out=bytes(out), err=err.decode("utf-8", "replace"),
                  truncated=truncated)


class CloneConfig:
    """A global git configuration file for one clone, readable by the space's account and
    owned by the server: `safe.directory=*`, so a `file://` repository owned by another user
    can be read (git passes no command-line `-c` to the local upload-pack it starts; the
    account reads the source with its own file permissions either way)."""

    def __enter__(self) -> str:
        handle, self.path = tempfile.mkstemp(prefix="git-clone-", suffix=".conf")
        with os.fdopen(handle, "w") as out:
            out.write("[safe]\n\tdirectory = *\n")
        os.chmod(self.path, 0o644)
        return self.path

    def __exit__(self, *_: object) -> None:
        try:
            os.unlink(self.path)
        except OSError:
            pass
