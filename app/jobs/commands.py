"""`run_command(command_id)`: the RQ job that runs one command to a final state."""

from __future__ import annotations

import logging
import uuid

from app.errors import AppError
from app.extensions import db
from app.jobs import common
from app.jobs.executors import shell
from app.jobs.runner import SpawnError
from app.models.command import CommandRun
from app.services import commands as command_service
from app.services import environment, run_control, run_identity
from app.services.engine_config import setting
from app.services.execution_lifecycle import Outcome

log = logging.getLogger(__name__)


def run_command(command_id: str) -> str:
    cid = uuid.UUID(command_id)
    try:
        cmd = common.load(CommandRun, cid)
        if cmd is None or cmd.status != "queued":
            return f"skipped ({cmd.status if cmd else 'missing'})"
        return _run(cmd)
    finally:
        db.session.remove()


def _run(cmd: CommandRun) -> str:
    key = command_service.key(cmd.id)
    cid = cmd.id
    ttl = int(setting("ENGINE_HEARTBEAT_TTL"))
    record = run_control.register_run(key, ttl, worker=common.worker_name(), owner="command")
    runner = None
    try:
        writer = common.new_writer("command", cid)
        try:
            cwd, identity = run_identity.prepare_run(cmd.project_id, cmd.user_id,
                                                     cmd.working_directory)
            env = environment.build(cmd.environment)
            if identity is not None:
                env = identity.environment(env)
            tick, every = common.heartbeat_tick(key, writer)
            runner = common.make_runner(shell.argv(cmd.command), cwd, env, writer, key,
                                        cmd.timeout, tick, every, identity=identity,
                                        terminal_order=True)
            pid = runner.start()
        except (SpawnError, ValueError, AppError) as exc:
            command_service.finish(cid, Outcome(status="failed",
                                                error_code="TASK_EXECUTION_FAILED",
                                                error_message=f"Could not start: {exc}"))
            return "failed to start"
        run_control.update_run(key, {**record, **common.process_identity(pid)})
        if command_service.mark_running(cid, common.worker_name(), pid) is None:
            runner.kill_now()
            return "cancelled before it started"
        end = runner.wait()
        outcome = shell.outcome(end, writer.last_stderr or writer.last_line)
        outcome.last_seq, outcome.output_bytes = writer.seq, writer.bytes
        outcome.truncated = writer.truncated
        command_service.finish(cid, outcome)
        return outcome.status
    except BaseException as exc:
        if runner is not None:
            runner.kill_now()
        try:
            db.session.rollback()
            command_service.finish(cid, Outcome(
                status="failed",
                error_code="WORKER_SHUTDOWN" if not isinstance(exc, Exception)
                else "TASK_EXECUTION_FAILED",
                error_message=f"The worker stopped while this was running ({type(exc).__name__})"))
        except Exception:
            log.exception("could not record the failure of command %s", cid)
        raise
    finally:
        try:
            run_control.unregister_run(key)
        except Exception:  # noqa: BLE001 - Redis away: its records expire or are reaped
            log.warning("could not unregister command %s (Redis unavailable?)", cid)
