"""RQ's scheduler (delayed webhook retries, `enqueue_in`), made to stop when asked.

Why: RQ's scheduler process sleeps its whole interval (a second) between rounds and only then
looks at a stop request, so every worker stop (a deploy, Ctrl-C of `make run`, each test that
starts a worker) waited up to a second for it. This one does its rounds at the same interval
but looks at the request every STOP_POLL seconds, and still releases its locks on the way out
(a scheduler killed instead would hold them for a minute).
"""

from __future__ import annotations

import time

from rq.scheduler import RQScheduler

STOP_POLL = 0.05


class PromptScheduler(RQScheduler):
    def work(self) -> None:
        self._install_signal_handlers()
        self.register_birth()
        while not self._stop_requested:
            if self.should_reacquire_locks:
                self.acquire_locks()
            self.heartbeat()
            self.enqueue_scheduled_jobs()
            next_round = time.monotonic() + self.interval
            while not self._stop_requested and time.monotonic() < next_round:
                time.sleep(STOP_POLL)
        self.stop()


def start_scheduler(worker, burst: bool, **log_options) -> None:
    """What `Worker._start_scheduler` does, with a PromptScheduler."""
    worker.scheduler = PromptScheduler(worker.queues, connection=worker.connection,
                                       serializer=worker.serializer, **log_options)
    worker.scheduler.acquire_locks()
    if not worker.scheduler.acquired_locks:
        return
    if not burst:
        worker.scheduler.start()
        return
    try:
        worker.scheduler.register_birth()
        worker.scheduler.enqueue_scheduled_jobs()
    finally:
        worker.scheduler.release_locks()
        worker.scheduler.register_death()
