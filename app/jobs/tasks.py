"""`run_execution(execution_id)`: the RQ job that runs one task execution to a final state."""

from __future__ import annotations

import logging
import os
import shutil
import uuid

from app.errors import AppError
from app.extensions import db
from app.jobs import common
from app.jobs.executors import claude, shell
from app.jobs.executors.claude_session import ClaudeSession
from app.jobs.runner import SpawnError
from app.models.execution import TaskExecution
from app.models.task import Task
from app.services import (
    agent_settings,
    concurrency,
    conversation,
    environment,
    events,
    run_control,
    run_identity,
    versions,
    worktrees,
)
from app.services import execution_lifecycle as lifecycle
from app.services.engine_config import setting
from app.services.execution_lifecycle import Outcome

log = logging.getLogger(__name__)


class ResumeRefused(Exception):
    """This worker cannot resume the run's Claude conversation (code, message)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def run_execution(execution_id: str) -> str:
    """Take a project slot (or wait in line for one), run the process, record the outcome."""
    eid = uuid.UUID(execution_id)
    try:
        found = common.wait_for_row(lambda: lifecycle.load_for_run(eid))
        if found is None or found[0].status != "queued":
            return f"skipped ({found[0].status if found else 'missing'})"
        ex, task, limits = found
        project_id = ex.project_id
        limit = concurrency.limit_from(limits)
        ttl = int(setting("ENGINE_HEARTBEAT_TTL"))
        score = concurrency.line_score(ex.queue, ex.created_at)
        key = lifecycle.key(eid)
        record = run_control.run_record(worker=common.worker_name(),
                                        project_id=str(project_id), owner="execution")
        # The start's change marks (count cache, app.services.versions) ride along.
        marks, add_marks = versions.prepare({versions.project_scope(project_id)})
        if not concurrency.acquire(project_id, eid, limit, ttl, score, also=add_marks,
                                   register=run_control.registration(key, ttl, record)):
            events.publish(events.make_event(
                "execution.updated", {**lifecycle.brief(ex), "waiting_for": "project_slot"},
                project_id=project_id, task_id=ex.task_id, execution_id=eid))
            lifecycle.promote(project_id)
            return "waiting for a project slot"
        return _run(ex, task, ttl, limit, record, marks)
    finally:
        db.session.remove()


def _run(ex: TaskExecution, task: Task, ttl: int, limit: int, record: dict,
         marks: dict) -> str:
    """Run a registered execution that holds its project slot, to a final state."""
    key = lifecycle.key(ex.id)
    project_id, eid = ex.project_id, ex.id
    runner = parser = None
    release = lifecycle.Release(project_id, eid, limit, key)
    try:
        writer = common.new_writer("execution", eid)
        try:
            cwd, identity = run_identity.prepare_run(project_id, None, ex.working_directory)
            cwd = worktrees.run_directory(project_id, task.id, ex.working_directory, cwd,
                                          identity)  # the task's git worktree (settings.git)
            argv, feed, parser, max_line = _plan(ex, task, writer, identity)
            env = environment.build((task.meta or {}).get("environment"),
                                    (ex.options or {}).get("environment"))
            if identity is not None:
                env = identity.environment(env)
            if parser is not None:
                cwd, env = _conversation(ex, cwd, env, identity)
            tick, every = common.heartbeat_tick(key, writer, project_id, eid)
            runner = common.make_runner(argv, cwd, env, writer, key,
                                        (ex.options or {}).get("timeout"), tick, every, feed,
                                        max_line, identity=identity,
                                        terminal_order=parser is None)
            if parser is not None:
                parser.session.attach(runner)  # the worker holds stdin: prompt, messages
            pid = runner.start()
        except ResumeRefused as exc:
            lifecycle.finish(eid, Outcome(status="failed", error_code=exc.code,
                                          error_message=exc.message, retryable=False))
            return "failed to resume"
        except (SpawnError, ValueError, AppError) as exc:
            lifecycle.finish(eid, Outcome(status="failed", error_code="TASK_EXECUTION_FAILED",
                                          error_message=_spawn_message(ex, exc), retryable=False))
            return "failed to start"
        running = {**record, **common.process_identity(pid)}  # lets a reaper kill orphans
        end_marks, add_end_marks = versions.prepare({versions.project_scope(project_id)})

        def after_start(pipe) -> None:
            run_control.update_run(key, running, pipe)
            add_end_marks(pipe)

        if lifecycle.mark_running(eid, common.worker_name(), pid, after_commit=after_start,
                                  marks=marks, run_directory=cwd) is None:
            runner.kill_now()
            return "cancelled before it started"
        end = runner.wait()
        outcome = (parser.outcome(end, writer.last_stderr) if parser
                   else shell.outcome(end, writer.last_stderr or writer.last_line))
        outcome.last_seq, outcome.output_bytes = writer.seq, writer.bytes
        outcome.truncated = writer.truncated
        lifecycle.finish(eid, outcome, marks=end_marks, release=release)
        return outcome.status
    except BaseException as exc:
        _fail_hard(eid, runner, exc)
        raise
    finally:
        if ex.executor == "claude":
            agent_settings.remove_run_files(eid)  # the MCP config written for the run
        if parser is not None:
            _end_session(parser.session)
        try:
            release.complete()
        except Exception:
            log.exception("could not release the slot of execution %s", eid)
            try:
                run_control.unregister_run(key)
            except Exception:
                log.exception("could not unregister execution %s", eid)


def _plan(ex: TaskExecution, task: Task, writer, identity=None):
    """(argv, feed, parser, max line) for the execution's executor. Claude's flags are the
    project's agent settings overridden by the task's (app.services.agent_settings), with the
    MCP config written for the run's account (`identity`)."""
    if ex.executor == "shell":
        return shell.argv(ex.command or ""), None, None, None
    settings = agent_settings.for_run(
        agent_settings.effective(task.project_settings, task.meta), ex.id, identity)
    cli = common.cli_path()
    prompt = ex.prompt or claude.prompt_of(task.title, task.description, ex.command)
    session = ClaudeSession(ex.id, task.id, ex.project_id, writer, prompt)
    parser = claude.ClaudeStream(writer, session)
    max_line = max(writer.max_bytes, 1024 * 1024) + 1
    return claude.argv(cli, settings, ex.resume_session_id), parser.feed, parser, max_line


def _conversation(ex: TaskExecution, cwd: str, env: dict[str, str], identity
                  ) -> tuple[str, dict[str, str]]:
    """The CLI's config directory in the project's workspace (where its transcripts live, so
    any worker sharing the workspace can resume them); a follow-up runs in the directory its
    conversation was recorded in, or is refused (ResumeRefused) when this worker cannot."""
    env = {**env, "CLAUDE_CONFIG_DIR": conversation.prepare_config_dir(ex.project_id,
                                                                        identity)}
    if not ex.resume_session_id:
        return cwd, env
    previous = conversation.recorded_directory(ex.follow_up_of)
    problem = conversation.resume_problem(ex.project_id, ex.resume_session_id, previous,
                                          common.worker_name())
    if problem is not None:
        raise ResumeRefused(*problem)
    return (os.path.realpath(previous) if previous else cwd), env


def _end_session(session: ClaudeSession) -> None:
    """Permission requests the run left pending are closed (logged if that fails)."""
    try:
        session.finish()
    except Exception:
        log.exception("could not close the Claude session's requests")


def _spawn_message(ex: TaskExecution, exc: Exception) -> str:
    if ex.executor == "claude" and "program not found" in str(exc):
        cli = common.cli_path()
        return (f"Claude CLI not found: {cli!r} (set CLAUDE_CLI_PATH; which: "
                f"{shutil.which(cli) or 'nothing on PATH'})")
    return f"Could not start the {ex.executor} process: {exc}"


def _fail_hard(eid: uuid.UUID, runner, exc: BaseException) -> None:
    """A crash or a cold shutdown mid-run: kill the group, record a final state if possible."""
    if runner is not None:
        runner.kill_now()
    shutdown = not isinstance(exc, Exception)
    if not shutdown:
        log.error("execution %s aborted", eid, exc_info=exc)
    try:
        db.session.rollback()
        lifecycle.finish(eid, Outcome(
            status="failed", error_code="WORKER_SHUTDOWN" if shutdown else "TASK_EXECUTION_FAILED",
            error_message=("The worker stopped while this was running" if shutdown
                           else f"Internal error in the worker: {type(exc).__name__}: {exc}")))
    except Exception:
        log.exception("could not record the failure of execution %s", eid)
