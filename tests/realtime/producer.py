"""An output producer that behaves exactly as the engine's does (app.services.events docstring):
each batch of lines is stored and committed, then published on `output:<owner>:<id>`; the end
of a run is a `command.updated` / `execution.updated` event with a final status."""

from __future__ import annotations

import uuid

from app.errors import iso, utcnow
from app.extensions import db
from app.models.command import CommandRun
from app.models.execution import OutputLine, TaskExecution
from app.services import events


def command_run(user, project=None, status: str = "running") -> uuid.UUID:
    run = CommandRun(user_id=user.id, project_id=project.id if project else None,
                     command="python -c 'print(1)'", status=status, started_at=utcnow())
    db.session.add(run)
    db.session.commit()
    return run.id


def execution_run(task, user, status: str = "running") -> uuid.UUID:
    run = TaskExecution(task_id=task.id, project_id=task.project_id, triggered_by=user.id,
                        status=status, executor="shell", command="make", started_at=utcnow())
    db.session.add(run)
    db.session.commit()
    return run.id


class Producer:
    def __init__(self, app, owner_type: str, owner_id: uuid.UUID) -> None:
        self.app = app
        self.owner_type = owner_type
        self.owner_id = owner_id
        self.seq = 0

    def store(self, count: int, pad: int = 0) -> list[dict]:
        """Store `count` lines (plus `pad` filler characters each) and commit, without
        publishing; returns them."""
        with self.app.app_context():
            lines = []
            for _ in range(count):
                self.seq += 1
                now = utcnow()
                stream = "stderr" if self.seq % 7 == 0 else "stdout"
                content = f"line {self.seq}{'.' * pad}\n"
                db.session.add(OutputLine(owner_type=self.owner_type, owner_id=self.owner_id,
                                          seq=self.seq, stream=stream, kind="line",
                                          content=content, timestamp=now))
                lines.append({"seq": self.seq, "stream": stream, "kind": "line",
                              "content": content, "data": None, "timestamp": iso(now)})
            db.session.commit()
            return lines

    def publish(self, lines: list[dict]) -> None:
        with self.app.app_context():
            events.publish_output(self.owner_type, self.owner_id, lines)

    def write(self, count: int, batch: int = 1, pad: int = 0) -> None:
        """`count` lines in batches of `batch`, each stored then published."""
        done = 0
        while done < count:
            size = min(batch, count - done)
            self.publish(self.store(size, pad))
            done += size

    def finish(self, status: str = "completed", exit_code: int = 0) -> None:
        model = CommandRun if self.owner_type == "command" else TaskExecution
        with self.app.app_context():
            run = db.session.get(model, self.owner_id)
            run.status, run.exit_code, run.finished_at = status, exit_code, utcnow()
            run.last_seq = self.seq
            data = {f"{self.owner_type}_id": str(self.owner_id), "status": status,
                    "exit_code": exit_code, "last_seq": self.seq}
            scope = {f"{self.owner_type}_id": self.owner_id}
            if self.owner_type == "execution":
                scope.update(task_id=run.task_id, project_id=run.project_id)
            events.emit(f"{self.owner_type}.updated", data, **scope)
            db.session.commit()
