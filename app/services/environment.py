"""The environment a task or command process gets: an allow-list, never the server's own.

Only harmless variables of the worker pass through (`ALLOWED`), plus any that the operator names
in `EXECUTOR_ENV_PASSTHROUGH`; then the task's `metadata.environment` and the request's
`environment` are added. So SECRET_KEY, JWT keys, DATABASE_URL, REDIS_URL and everything else of
the server never reach a run.

User-supplied names must match `[A-Za-z_][A-Za-z0-9_]*`; values are strings without NUL bytes.
Variables that make a loader or an interpreter run code of the caller's choosing before the
program itself starts (`BASH_ENV`, `LD_PRELOAD`, `NODE_OPTIONS`, `PYTHONSTARTUP`, ... see
`LOADER_VARIABLES`) are refused with a 422 wherever an environment comes from (task metadata,
execute options, commands, REST or socket): a Claude task's prompt must never turn into code
that runs outside the agent's own permission checks, and a shell command states its code
openly in its command line, where validation and history see it. `PATH` stays allowed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from app.errors import ValidationFailed
from app.services.engine_config import setting

ALLOWED = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TERM", "TZ", "USER", "LOGNAME",
           "SHELL", "TMPDIR")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
MAX_VARIABLES = 100
LOADER_VARIABLES = frozenset({
    "BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "PROMPT_COMMAND", "PS4", "IFS", "CDPATH",
    "GLOBIGNORE", "PERL5OPT", "PERL5LIB", "PERLLIB", "PERL5DB", "PYTHONSTARTUP", "PYTHONPATH",
    "PYTHONHOME", "PYTHONINSPECT", "PYTHONUSERBASE", "PYTHONWARNINGS", "PYTHONBREAKPOINT",
    "NODE_OPTIONS", "NODE_PATH", "NODE_REPL_EXTERNAL_MODULE", "RUBYOPT", "RUBYLIB",
    "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH", "GCONV_PATH",
    "GIT_SSH", "GIT_SSH_COMMAND", "GIT_EXEC_PATH", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM",
    "GIT_ASKPASS", "SSH_ASKPASS", "EDITOR", "VISUAL", "PAGER", "GIT_PAGER", "BROWSER",
    "LESSOPEN", "LESSCLOSE", "MALLOC_CHECK_", "TCLLIBPATH", "LUA_INIT", "LUA_PATH", "LUA_CPATH",
})
# Whole families: dynamic loaders, exported bash functions, git config injection, and the
# Claude CLI's own settings (ANTHROPIC_BASE_URL would send the operator's API key elsewhere).
LOADER_PREFIXES = ("LD_", "DYLD_", "BASH_FUNC_", "GIT_CONFIG_", "CLAUDE_CODE_", "ANTHROPIC_")
MAX_VALUE_LENGTH = 32 * 1024


def validate(environment: Any, field: str = "environment") -> dict[str, str]:
    """A clean copy of user-supplied variables, or a 422 naming the bad one."""
    if environment is None:
        return {}
    if not isinstance(environment, Mapping):
        raise ValidationFailed(field, "must be an object of NAME: value strings")
    if len(environment) > MAX_VARIABLES:
        raise ValidationFailed(field, f"at most {MAX_VARIABLES} variables",
                               code="VALIDATION_VALUE_TOO_LONG")
    clean: dict[str, str] = {}
    for name, value in environment.items():
        if not isinstance(name, str) or not NAME.match(name):
            raise ValidationFailed(f"{field}.{name}", "variable names must match "
                                   "[A-Za-z_][A-Za-z0-9_]*", code="VALIDATION_INVALID_FORMAT")
        if name.upper() in LOADER_VARIABLES or name.upper().startswith(LOADER_PREFIXES):
            raise ValidationFailed(f"{field}.{name}", "this variable changes how programs or "
                                   "their interpreters start and cannot be set for a run",
                                   code="VALIDATION_ERROR")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValidationFailed(f"{field}.{name}", "value must be a string")
        text = str(value)
        if "\x00" in text:
            raise ValidationFailed(f"{field}.{name}", "value must not contain NUL bytes",
                                   code="VALIDATION_INVALID_FORMAT")
        if len(text) > MAX_VALUE_LENGTH:
            raise ValidationFailed(f"{field}.{name}", f"at most {MAX_VALUE_LENGTH} characters",
                                   code="VALIDATION_VALUE_TOO_LONG")
        clean[name] = text
    return clean


def passthrough_names() -> tuple[str, ...]:
    extra = [n.strip() for n in str(setting("EXECUTOR_ENV_PASSTHROUGH") or "").split(",")]
    return ALLOWED + tuple(n for n in extra if n and NAME.match(n))


def build(*layers: Mapping[str, str] | None, base: Mapping[str, str] | None = None
          ) -> dict[str, str]:
    """The process environment: allowed variables of `base` (the worker's), then `layers`."""
    source = os.environ if base is None else base
    env = {name: source[name] for name in passthrough_names() if name in source}
    env.setdefault("PATH", DEFAULT_PATH)
    env.setdefault("LANG", "C.UTF-8")
    for layer in layers:
        env.update(validate(layer))  # again here: rows stored before a rule still obey it
    return env
