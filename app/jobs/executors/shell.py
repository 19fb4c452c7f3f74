"""The `shell` executor: `/bin/sh -c <command>`, output kept line by line as written."""

from __future__ import annotations

from app.jobs.runner import RunEnd
from app.services.execution_lifecycle import Outcome

SHELL = "/bin/sh"


def argv(command: str) -> list[str]:
    return [SHELL, "-c", command]


def outcome(end: RunEnd, last_stderr: str | None = None) -> Outcome:
    """completed on exit code 0; failed otherwise, saying why."""
    common = stopped(end)
    if common is not None:
        return common
    if end.exit_code == 0:
        return Outcome(status="completed", exit_code=0)
    if end.exit_code is not None and end.exit_code < 0:
        message = f"Command was killed by signal {-end.exit_code}"
    else:
        message = f"Command exited with code {end.exit_code}"
    if last_stderr:
        message += f": {last_stderr}"
    return Outcome(status="failed", exit_code=end.exit_code, error_code="TASK_EXECUTION_FAILED",
                   error_message=message)


def stopped(end: RunEnd, timeout: float | None = None) -> Outcome | None:
    """The outcome of a run the engine stopped (cancel, timeout, worker shutdown), else None."""
    if end.reason == "cancel":
        return Outcome(status="cancelled", exit_code=end.exit_code, error_code="TASK_CANCELLED",
                       error_message="Cancelled" + (f": {end.cancel_reason}"
                                                    if end.cancel_reason else ""),
                       cancel_reason=end.cancel_reason, retryable=False)
    if end.reason == "timeout":
        return Outcome(status="failed", exit_code=end.exit_code, error_code="TASK_TIMEOUT",
                       error_message=f"Timed out after {round(end.duration)} s; the process "
                                     "group was terminated")
    if end.reason == "database":
        return Outcome(status="failed", exit_code=end.exit_code, error_code="DATABASE_ERROR",
                       error_message=f"The run's output could not be stored ({end.detail}); "
                                     "its processes were terminated")
    if end.reason == "ended":  # somebody else wrote the final state; `finish` keeps theirs
        return Outcome(status="failed", exit_code=end.exit_code, error_code="WORKER_LOST",
                       error_message="Ended elsewhere while it was running", retryable=False)
    if end.reason == "shutdown":
        return Outcome(status="failed", exit_code=end.exit_code, error_code="WORKER_SHUTDOWN",
                       error_message="The worker was stopped while this was running; its "
                                     "processes were terminated")
    return None
