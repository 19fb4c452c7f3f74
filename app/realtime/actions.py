"""What a socket client may do besides listening: run a task (`execute_task`).

The socket's twin of POST /api/tasks/{id}/execute, and nothing more: the connection has
already required the `execute` permission and validated the message with the REST body's
models (`protocol.ExecuteTask`); this calls the same service with the same arguments as the
route (`app.services.executions.execute`: project access, archived projects, maintenance,
dependencies, the environment's rules, queues), then records the run in the session.
"""

from __future__ import annotations

import uuid
from typing import Any

from app.api.schemas import ExecuteBody
from app.models.user import User
from app.services import executions, session_activity


def execute_task(user: User, task_id: uuid.UUID, body: ExecuteBody,
                 session_id: uuid.UUID) -> dict[str, Any]:
    """Queue the task exactly as POST /api/tasks/{id}/execute does, then record it in the
    session's history."""
    result = executions.execute(task_id, user, body.priority, body.options_dict())
    session_activity.record_task_run(session_id, user.id, task_id, result.get("execution_id"))
    return {**result, "event": "execute_task", "session_id": str(session_id)}
