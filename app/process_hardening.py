"""What a server process does first so that the runs it starts cannot read its secrets.

Runs are children of the workers. When the workers are root, runs execute as other uids and
cannot open anything under /proc/<worker> that matters; when they are not, two things still
hold: (1) the process is made non-dumpable, which makes its /proc entries (environ, mem, fd,
maps) owned by root, so a same-uid run can no longer read them; (2) `ADMIN_PASSWORD`, which only
the set-up step needs, is not in the process's environment at all: a process that was started
with it re-executes itself without it (unsetting it would not do: /proc/<pid>/environ shows the
environment the process started with).
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys

log = logging.getLogger(__name__)

SET_UP_ONLY = ("ADMIN_PASSWORD",)
PR_SET_DUMPABLE = 4


def harden(argv: list[str] | None = None) -> None:
    """Re-exec without set-up-only secrets if started with them, then become non-dumpable."""
    if any(name in os.environ for name in SET_UP_ONLY):
        env = {k: v for k, v in os.environ.items() if k not in SET_UP_ONLY}
        args = [sys.executable, *(sys.argv if argv is None else argv)]
        os.execve(sys.executable, args, env)  # noqa: S606 - ourselves, same arguments
    make_undumpable()


def make_undumpable() -> bool:
    """prctl(PR_SET_DUMPABLE, 0) on Linux; False where it is not available."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0
    except (OSError, AttributeError):
        log.warning("could not make this process non-dumpable")
        return False
