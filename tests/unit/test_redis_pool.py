"""The app's Redis pool serves more simultaneous users than redis-py's default pool (100).

A web process runs one thread per websocket; when hundreds of sockets authenticate at once
each thread needs a Redis connection at the same moment. redis-py's default pool raises
"Too many connections" past 100; the app's pool must serve them all (a thread that finds every
connection busy waits for one)."""

from __future__ import annotations

import threading
import uuid

from app.extensions import get_redis
from tests.live import wait_for


def test_more_threads_than_the_default_pool_size_all_get_a_connection(app):
    threads_n = 150
    key = f"pool-test:{uuid.uuid4().hex}"
    errors: list[BaseException] = []
    inside = threading.Barrier(threads_n + 1, timeout=30)

    with app.app_context():
        client = get_redis()

    def hold_one() -> None:
        try:
            inside.wait()
            # BLPOP keeps the connection checked out until the list gets an item.
            client.blpop([key], timeout=10)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=hold_one) for _ in range(threads_n)]
    for thread in threads:
        thread.start()
    inside.wait()
    # Every thread is now blocked in BLPOP, each on a connection of its own.
    with app.app_context():
        wait_for(lambda: errors or int(client.info("clients")["blocked_clients"]) >= threads_n,
                 10, 0.05, "every thread to block in BLPOP")
        blocked = int(client.info("clients")["blocked_clients"])
        client.rpush(key, *range(threads_n))
    for thread in threads:
        thread.join(15)
    assert errors == []
    assert blocked >= threads_n  # (other clients of a shared Redis may block too)
    assert client.llen(key) == 0  # every thread got its item
