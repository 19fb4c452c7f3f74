"""What a socket client may do besides listening: run a task (`execute_task`).

The engine (`app.services.executions`) owns the rules (permissions, dependencies, queues); this
adds what a session needs: the run is recorded in the session's history and state.
"""

from __future__ import annotations

import uuid
from typing import Any

from app.errors import AppError
from app.models.user import User
from app.services import session_activity


def execute_task(user: User, task_id: uuid.UUID, priority: str, options: dict[str, Any] | None,
                 session_id: uuid.UUID) -> dict[str, Any]:
    """Queue the task like POST /api/tasks/{id}/execute does, then record it in the session."""
    try:
        from app.services import executions
    except ImportError:  # the engine is not installed in this build
        raise AppError("TASK_EXECUTION_FAILED",
                       "Task execution is not available on this server") from None
    result = executions.execute(task_id, user, priority, options)
    session_activity.record_task_run(session_id, user.id, task_id, result.get("execution_id"))
    return {**result, "event": "execute_task", "session_id": str(session_id)}
