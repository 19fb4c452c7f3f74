"""Run one process group and stream its output: the engine under both executors.

The process starts in its own session (so its whole group can be signalled, and a Ctrl-C aimed
at the worker's terminal does not reach it) with a sanitized environment. With `merge_stderr`
(shell runs) stdout and stderr are one pipe, as in a terminal: lines keep the exact order the
process wrote them in (two pipes cannot: which of two pipes was written first is lost once both
hold data). Otherwise (Claude runs, whose stdout is a JSON protocol that a stderr write must not
split) one loop reads stdout and stderr through a selector — neither pipe can block the
other. The loop splits output into lines, hands each to the executor's `feed`, and every
`OUTPUT_FLUSH_MS` flushes the batch. The same loop
checks, a few times a second, for a cancel request (Redis), the worker's shutdown flag and the
timeout, and beats the heartbeat. Stopping is SIGTERM to the group, then SIGKILL after the grace
period; when the run ends anything left in its group is killed, so no child outlives its run.

A run may hold its process's stdin (`enable_input`, the Claude executor's stream-json input,
app.jobs.run_input): what it sends is written by the same loop without ever blocking it (a
non-blocking pipe, watched for writability while something waits), and `on_check` is called
with every check so the executor can look at its inbox. Without it stdin is /dev/null.

A process that left the group (`setsid`, a daemonizing double fork) cannot be signalled with
it. If such a process still holds the output pipes `ABANDON_AFTER` seconds after the group was
killed, whatever holds them is found through /proc and killed too (only the run's own
processes can hold the write end); if the pipes are still open a second later, the run stops
reading them and ends. Either way the worker is never held. A process that left the group and
let go of the output is not found: it may outlive its run.
"""

from __future__ import annotations

import array
import fcntl
import logging
import os
import selectors
import signal
import subprocess
import termios
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.jobs.output import OutputStoreError, OutputWriter
from app.jobs.run_input import InputPipe

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from app.services.run_identity import RunIdentity

SHUTDOWN = threading.Event()  # set by the worker on SIGTERM/SIGINT
MAX_LINE = 1024 * 1024
CHECK_INTERVAL = 0.1
ABANDON_AFTER = 1.0  # pipes held open after the group's SIGKILL (by a process that left it)


class SpawnError(Exception):
    """The process could not be started (missing binary, bad directory...)."""


@dataclass
class RunEnd:
    exit_code: int | None
    reason: str  # exit | cancel | timeout | shutdown | database | ended
    cancel_reason: str | None = None
    cancelled_by: str | None = None
    duration: float = 0.0
    detail: str | None = None  # database: what the database said


Feed = Callable[[str, bytes], None]


class ProcessRun:
    def __init__(self, argv: list[str], cwd: str, env: dict[str, str], writer: OutputWriter,
                 *, timeout: float | None, grace: float, flush_ms: int,
                 cancel_check: Callable[[], dict | None], tick: Callable[[], None],
                 tick_every: float, feed: Feed | None = None, max_line: int = MAX_LINE,
                 drain_after_exit: float = 1.0, identity: RunIdentity | None = None,
                 merge_stderr: bool = False) -> None:
        self.argv, self.cwd, self.env = argv, cwd, env
        self.identity = identity
        self.merge_stderr = merge_stderr  # one pipe for both: the exact order, every line stdout
        self.writer = writer
        self.timeout = timeout
        self.grace = grace
        self.flush_every = flush_ms / 1000.0
        self.cancel_check = cancel_check
        self.tick = tick
        self.tick_every = tick_every
        self.feed = feed or self._plain
        self.max_line = max_line
        self.drain_after_exit = drain_after_exit
        self.proc: subprocess.Popen | None = None
        self.started = 0.0
        self.db_error: str | None = None  # the database refused the output: the run ends
        self.input: InputPipe | None = None  # stdin, when the executor holds it
        self.on_check: Callable[[float], None] | None = None

    def enable_input(self, on_check: Callable[[float], None] | None = None) -> InputPipe:
        """Give the process a stdin pipe (call before `start`); `on_check(now)` then runs with
        every check of the loop (a few times a second) while the run is not being stopped."""
        self.input = InputPipe()
        self.on_check = on_check
        return self.input

    # ---- process ---------------------------------------------------------------------------

    def start(self) -> int:
        if not os.path.isdir(self.cwd):
            raise SpawnError(f"working directory does not exist: {self.cwd}")
        pipes = _Pipes(self.identity, with_stdin=self.input is not None,
                       merge_stderr=self.merge_stderr)
        try:
            self.proc = subprocess.Popen(
                self.argv, cwd=self.cwd, env=self.env, stdin=pipes.child_stdin,
                stdout=pipes.child_stdout, stderr=pipes.child_stderr, start_new_session=True,
                close_fds=True, **(self.identity.popen_kwargs() if self.identity else {}))
        except FileNotFoundError as exc:
            pipes.close_all()
            raise SpawnError(f"program not found: {self.argv[0]}") from exc
        except PermissionError as exc:
            pipes.close_all()
            raise SpawnError(f"permission denied running {self.argv[0]}") from exc
        except OSError as exc:
            pipes.close_all()
            raise SpawnError(f"could not start {self.argv[0]}: {exc.strerror or exc}") from exc
        pipes.hand_over(self.proc)
        self.started = time.monotonic()
        if self.input is not None and self.proc.stdin is not None:
            self.input.attach(self.proc.stdin)
        return self.proc.pid

    def signal_group(self, sig: int) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def kill_now(self) -> None:
        """SIGKILL the whole group and reap the leader (used on errors and lost races)."""
        if self.proc is None:
            return
        self.signal_group(signal.SIGKILL)
        if self.input is not None:
            self.input.drop()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe and not pipe.closed:
                pipe.close()

    # ---- output ----------------------------------------------------------------------------

    def _plain(self, stream: str, raw: bytes) -> None:
        self.writer.add(stream, raw.decode("utf-8", "replace"), len(raw))

    def _lines(self, stream: str, buf: bytearray, chunk: bytes) -> None:
        buf += chunk
        end = buf.rfind(b"\n")
        if end >= 0:
            complete = bytes(buf[:end + 1])
            del buf[:end + 1]
            parts = complete.split(b"\n")
            parts.pop()
            feed = self.feed
            for part in parts:
                feed(stream, part + b"\n")
        while len(buf) > self.max_line:
            piece = bytes(buf[:self.max_line])
            del buf[:self.max_line]
            self.feed(stream, piece)

    # ---- the loop --------------------------------------------------------------------------

    def wait(self) -> RunEnd:
        """Read until both pipes close and the leader exits; stop it when asked to."""
        assert self.proc is not None and self.proc.stdout
        sel = selectors.DefaultSelector()
        streams = {self.proc.stdout.fileno(): "stdout"}
        if self.proc.stderr is not None:
            streams[self.proc.stderr.fileno()] = "stderr"
        bufs = {fd: bytearray() for fd in streams}
        for fd in streams:
            os.set_blocking(fd, False)
            sel.register(fd, selectors.EVENT_READ)
        end = RunEnd(None, "exit")
        now = time.monotonic()
        next_flush = now + self.flush_every
        next_check = now + CHECK_INTERVAL
        next_tick = now + self.tick_every
        kill_at: float | None = None
        abandon_at: float | None = None
        holders_killed = False
        exited_at: float | None = None
        backlog: int | None = None  # bytes unread when the leader was seen gone
        read_after = 0  # bytes read since then
        open_fds = set(streams)
        writing: int | None = None  # stdin's fd while it is watched for writability
        try:
            while open_fds or self.proc.poll() is None:
                if open_fds:
                    writing = self._watch_input(sel, writing)
                    wait_for = max(min(next_flush if self.writer.pending else next_check,
                                       next_check) - time.monotonic(), 0.0)
                    for key, _ in sel.select(wait_for):
                        fd = key.fd
                        if fd == writing:
                            self.input.pump()
                            continue
                        try:
                            chunk = os.read(fd, 65536)
                        except BlockingIOError:
                            continue
                        if chunk:
                            if backlog is not None:
                                read_after += len(chunk)
                            self._lines(streams[fd], bufs[fd], chunk)
                            continue
                        if bufs[fd]:
                            self.feed(streams[fd], bytes(bufs[fd]))
                            bufs[fd].clear()
                        sel.unregister(fd)
                        open_fds.discard(fd)
                else:
                    try:
                        self.proc.wait(CHECK_INTERVAL)
                    except subprocess.TimeoutExpired:
                        pass
                now = time.monotonic()
                if self.writer.full or (self.writer.pending and now >= next_flush):
                    self._store(self.writer.flush)
                    next_flush = now + self.flush_every
                if now < next_check:
                    continue
                next_check = now + CHECK_INTERVAL
                if now >= next_tick:
                    self._store(self.tick)
                    next_tick = now + self.tick_every
                if self.on_check is not None and kill_at is None and end.reason == "exit":
                    self._check_input(now)
                leader_done = self.proc.poll() is not None
                if kill_at is None:
                    stop = self._should_stop(now) if end.reason == "exit" else None
                    if stop:
                        end = stop
                        self.signal_group(signal.SIGTERM)
                        kill_at = now + self.grace
                    elif leader_done and open_fds and backlog is None:
                        # What the pipes held when the leader was seen gone was written before
                        # it exited: read that first (a slow database can leave us behind).
                        backlog = _unread(open_fds)
                    elif leader_done and open_fds and read_after < backlog:
                        pass
                    elif leader_done and open_fds:
                        # The leader is gone and its output is read, but something in its
                        # group still holds the pipes open.
                        exited_at = exited_at or now
                        if now - exited_at > self.drain_after_exit:
                            self.writer.system("[processes left running in the background "
                                               "after the command exited were terminated]")
                            kill_at = now
                if kill_at is not None and now >= kill_at:
                    self.signal_group(signal.SIGKILL)
                    kill_at = float("inf")
                    abandon_at = now + ABANDON_AFTER
                if (abandon_at is not None and now >= abandon_at and open_fds
                        and leader_done and not holders_killed):
                    holders_killed = True
                    abandon_at = now + ABANDON_AFTER
                    killed = _kill_holders(open_fds)
                    if killed:
                        self.writer.system(f"[{killed} process(es) that left the run's process "
                                           "group and kept its output open were killed]")
                elif (abandon_at is not None and now >= abandon_at and open_fds
                        and leader_done):
                    self.writer.system("[output of processes that left the run's process group "
                                       "is no longer read]")
                    for fd in open_fds:
                        if bufs[fd]:
                            self.feed(streams[fd], bytes(bufs[fd]))
                            bufs[fd].clear()
                        sel.unregister(fd)
                    open_fds.clear()
        finally:
            sel.close()
            if self.input is not None:
                self.input.drop()
            self.signal_group(signal.SIGKILL)  # nothing in the group outlives the run
            for pipe in (self.proc.stdout, self.proc.stderr):
                if pipe is not None:
                    pipe.close()
        self.proc.wait()
        self._store(self.writer.flush)
        end.exit_code = self.proc.returncode
        end.duration = time.monotonic() - self.started
        if self.db_error is not None and end.reason != "database":
            end.reason, end.detail = "database", self.db_error
        return end

    def _watch_input(self, sel: selectors.BaseSelector, writing: int | None) -> int | None:
        """Watch stdin for writability exactly while something waits to be written."""
        want = self.input.waiting_fd() if self.input is not None else None
        if want == writing:
            return writing
        if writing is not None:
            try:
                sel.unregister(writing)
            except (KeyError, ValueError):
                pass
        if want is not None:
            sel.register(want, selectors.EVENT_WRITE)
        return want

    def _check_input(self, now: float) -> None:
        """The executor's look at its inbox; its failure is logged, the run goes on."""
        try:
            self.on_check(now)
        except OutputStoreError as exc:
            self.db_error = str(exc)
        except Exception:  # an inbox problem must not kill the run
            log.exception("input check of %s failed", self.argv[0])

    def _store(self, step: Callable[[], object]) -> None:
        """A step that writes to the database (a flush, the heartbeat); once the database has
        refused output past the writer's retry window, the run ends (DATABASE_ERROR)."""
        if self.db_error is not None:
            return
        try:
            step()
        except OutputStoreError as exc:
            self.db_error = str(exc)

    def _should_stop(self, now: float) -> RunEnd | None:
        if SHUTDOWN.is_set():
            return RunEnd(None, "shutdown")
        if self.db_error is not None:
            return RunEnd(None, "database", detail=self.db_error)
        if self.writer.final:  # ended elsewhere (a cancel or a reaper wrote its final state)
            return RunEnd(None, "ended")
        if self.timeout and now - self.started > self.timeout:
            return RunEnd(None, "timeout")
        request = self.cancel_check()
        if request is not None:
            return RunEnd(None, "cancel", request.get("reason"), request.get("by"))
        return None


def _unread(fds: set[int]) -> int:
    """Bytes these pipes hold that were not read yet (FIONREAD)."""
    count, total = array.array("i", [0]), 0
    for fd in fds:
        try:
            fcntl.ioctl(fd, termios.FIONREAD, count, True)
        except OSError:
            continue
        total += count[0]
    return total


class _Pipes:
    """The run's stdin/stdout/stderr pipes. Made here rather than by Popen so that, when the run
    executes as its space's account, the pipes belong to that account: a program that reopens
    its own output by name (`echo x > /dev/stderr`, `/dev/stdout`, `/proc/self/fd/1`) opens the
    pipe's inode, which a root-owned 0600 pipe would refuse it."""

    def __init__(self, identity: RunIdentity | None, with_stdin: bool,
                 merge_stderr: bool = False) -> None:
        self.ours: list[int] = []  # parent ends
        self.theirs: list[int] = []  # child ends, closed in the parent once it started
        self.out_r, self.child_stdout = self._pipe(identity, parent_reads=True)
        self.err_r: int | None = None
        if merge_stderr:
            self.child_stderr = self.child_stdout
        else:
            self.err_r, self.child_stderr = self._pipe(identity, parent_reads=True)
        if with_stdin:
            self.child_stdin, self.in_w = self._pipe(identity, parent_reads=False)
        else:
            self.child_stdin, self.in_w = subprocess.DEVNULL, None

    def _pipe(self, identity: RunIdentity | None, parent_reads: bool) -> tuple[int, int]:
        read_end, write_end = os.pipe()
        if identity is not None:
            os.fchown(read_end, identity.uid, identity.gid)  # one inode for both ends
        self.ours.append(read_end if parent_reads else write_end)
        self.theirs.append(write_end if parent_reads else read_end)
        return read_end, write_end

    def hand_over(self, proc: subprocess.Popen) -> None:
        """Close the child's ends here and give the parent's ends to `proc` as files."""
        for fd in self.theirs:
            os.close(fd)
        proc.stdout = os.fdopen(self.out_r, "rb", buffering=0)
        proc.stderr = os.fdopen(self.err_r, "rb", buffering=0) if self.err_r is not None else None
        if self.in_w is not None:
            proc.stdin = os.fdopen(self.in_w, "wb", buffering=0)

    def close_all(self) -> None:
        for fd in self.ours + self.theirs:
            try:
                os.close(fd)
            except OSError:
                pass


def _kill_holders(fds: set[int]) -> int:
    """SIGKILL every other process that has one of these pipes open (Linux /proc); how many.

    Only processes started by the run can hold the write end of its output pipes (the worker
    keeps the read end; close_fds gives a child nothing else). psutil lists open regular files,
    not pipes, hence /proc. Where /proc is not readable this finds nothing."""
    wanted = set()
    for fd in fds:
        try:
            wanted.add(f"pipe:[{os.fstat(fd).st_ino}]")
        except OSError:
            continue
    me, killed = os.getpid(), 0
    try:
        entries = [e.name for e in os.scandir("/proc") if e.name.isdigit()]
    except OSError:
        return 0
    for name in entries:
        pid = int(name)
        if pid == me:
            continue
        if _holds(name, wanted):
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                continue
    return killed


def _holds(pid: str, links: set[str]) -> bool:
    """Whether /proc/<pid> has a descriptor pointing at one of `links` (gone or unreadable:
    no)."""
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for name in names:
        try:
            if os.readlink(f"/proc/{pid}/fd/{name}") in links:
                return True
        except OSError:
            continue
    return False
