"""A run's stdin, written by the run loop without ever blocking it (app.jobs.runner).

The Claude executor keeps talking to its CLI (stream-json input: the prompt, later messages,
answers to permission requests, interrupts). What it `send`s is queued and written as far as
the pipe takes it at once; the rest waits until the loop's selector says the pipe is writable
again (`waiting_fd`). A process that closed its end (EPIPE) gets nothing more. `close` closes
stdin once everything queued is written, so the process reads EOF after the last message.
"""

from __future__ import annotations

import os
from typing import IO


class InputPipe:
    def __init__(self) -> None:
        self._pipe: IO[bytes] | None = None
        self._fd: int | None = None
        self._buf = bytearray()
        self._closing = False

    def attach(self, pipe: IO[bytes]) -> None:
        """The started process's stdin, made non-blocking; what was sent before is written."""
        self._pipe, self._fd = pipe, pipe.fileno()
        os.set_blocking(self._fd, False)
        self.pump()

    @property
    def open(self) -> bool:
        """Whether more can still be sent (not closed, not being closed)."""
        return not self._closing and (self._fd is not None or self._pipe is None)

    def waiting_fd(self) -> int | None:
        """stdin's fd while bytes wait to be written (the loop watches it), else None."""
        return self._fd if self._fd is not None and self._buf else None

    def send(self, data: bytes) -> bool:
        """Queue `data` and write what the pipe takes now; False when stdin is closed or
        closing (nothing was queued)."""
        if not self.open:
            return False
        self._buf += data
        self.pump()
        return True

    def close(self) -> None:
        """Close stdin as soon as what is queued is written."""
        self._closing = True
        self.pump()

    def pump(self) -> None:
        fd = self._fd
        if fd is None:
            return
        try:
            while self._buf:
                written = os.write(fd, self._buf[:65536])
                del self._buf[:written]
        except BlockingIOError:
            return
        except OSError:  # BrokenPipeError: the process no longer reads its stdin
            self._buf.clear()
            self._closing = True
        if self._closing and not self._buf:
            self.drop()

    def drop(self) -> None:
        """Close stdin now, whatever is still queued (the run is ending)."""
        self._buf.clear()
        self._closing = True
        self._fd = None
        if self._pipe is not None and not self._pipe.closed:
            try:
                self._pipe.close()
            except OSError:
                pass
