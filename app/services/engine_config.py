"""Tunables of the execution engine, read from the app config, else the environment.

They are not in `Config` because only the engine uses them; each has a default that works on
one machine. Tests and benchmarks set them through the environment of their worker processes.
"""

from __future__ import annotations

import os
from typing import Any

from flask import current_app, has_app_context

DEFAULTS: dict[str, Any] = {
    # Seconds a task / command may run when the request does not say (options.timeout).
    "TASK_DEFAULT_TIMEOUT": 3600,
    "COMMAND_DEFAULT_TIMEOUT": 300,
    "MAX_RUN_TIMEOUT": 86400,
    "MAX_RETRY_ATTEMPTS": 10,
    # SIGTERM -> SIGKILL grace period when cancelling or timing out a process group.
    "CANCEL_GRACE_SECONDS": 5.0,
    # How long the cancel endpoint waits for the worker to report the final state.
    "CANCEL_WAIT_SECONDS": 8.0,
    # A run whose heartbeat is older than this is lost (its worker died); slots lease as long.
    "ENGINE_HEARTBEAT_TTL": 20,
    # How often a worker's maintenance thread looks for lost runs and due retries.
    "ENGINE_REAPER_INTERVAL": 5.0,
    # Automatic retries wait base * 2**(n-1) seconds, at most MAX.
    "RETRY_BACKOFF_SECONDS": 5.0,
    "RETRY_BACKOFF_MAX": 300.0,
    # Output is stored and published in batches this often (STACK.md: 20-50 ms).
    "OUTPUT_FLUSH_MS": 25,
    "OUTPUT_BATCH_LINES": 5000,
    # `POST /api/commands/execute` waits this long for the command to start (to show its pid).
    "COMMAND_START_WAIT": 0.5,
    # Extra server variables operators allow into runs (comma-separated, e.g. ANTHROPIC_API_KEY).
    "EXECUTOR_ENV_PASSTHROUGH": "",
    # After the main process exits, background children holding its pipes get this long.
    "ORPHAN_DRAIN_SECONDS": 1.0,
    # Shell runs: "merged" = stdout and stderr in one pipe, lines in the exact order written,
    # all labelled stdout; "separate" = two pipes, stderr apart, order between them approximate.
    "SHELL_OUTPUT_STREAMS": "merged",
    # Runs execute as an unprivileged account per space when the worker is root ("off": never).
    "RUN_ISOLATION": "auto",
    # uid (and gid) of run account n is RUN_UID_BASE + n: above the usual subordinate-id ranges.
    "RUN_UID_BASE": 300000,
}


def setting(name: str, defaults: dict[str, Any] = DEFAULTS) -> Any:
    """`name` from the app config, else from the environment (cast like its default in
    `defaults`: the engine's, or another module's table read the same way)."""
    default = defaults.get(name)
    value: Any = None
    if has_app_context():
        value = current_app.config.get(name)
    if value is None:
        value = os.environ.get(name) or None
    if value is None:
        return default
    if isinstance(default, bool):
        return str(value).lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int) and not isinstance(default, bool):
        return int(float(value))
    if isinstance(default, float):
        return float(value)
    return value


def app_setting(name: str, default: Any) -> Any:
    """A value that `Config` already defines (MAX_OUTPUT_BYTES, MAX_QUEUE_LENGTH, ...)."""
    if has_app_context():
        return current_app.config.get(name, default)
    return default
