"""The RQ worker of this app: one process, queues in strict priority order, app context on."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence

import redis
from flask import Flask
from rq import Queue, SimpleWorker

from app.jobs import QUEUES


def worker_connection(app: Flask) -> redis.Redis:
    """A connection for blocking dequeues: no socket timeout shorter than RQ's own waits."""
    return redis.Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=5,
                                health_check_interval=30)


class AppWorker(SimpleWorker):
    """Runs jobs in-process (no fork per job: ~3× the throughput, STACK.md) inside the app
    context that `worker.py` pushed. Jobs start subprocesses for the real work, so a job cannot
    take the worker down with it."""


def build_worker(app: Flask, queue_names: Sequence[str] = QUEUES, name: str | None = None
                 ) -> AppWorker:
    unknown = [q for q in queue_names if q not in QUEUES]
    if unknown:
        raise ValueError(f"unknown queue(s): {', '.join(unknown)}; known: {', '.join(QUEUES)}")
    conn = worker_connection(app)
    queues = [Queue(q, connection=conn) for q in queue_names]
    return AppWorker(queues, connection=conn,
                     name=name or f"{socket.gethostname()}.{os.getpid()}")
