"""Webhook fixtures: a real local HTTP receiver and a worker tuned for quick retries."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Receiver:
    """Records every request (headers and exact body bytes) and answers from a script:
    status codes in order (the last one repeats), or "hang" to never answer in time."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.script: list[int | str] = [200]
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                step = receiver.script.pop(0) if len(receiver.script) > 1 else receiver.script[0]
                receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                          "body": body, "answer": step})
                if step == "hang":
                    receiver.release.wait(30)
                    return
                self.send_response(int(step))
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def hook_worker(start_worker, worker_env):
    """A real worker (with RQ's scheduler for retries): 3 attempts, 0.3 s backoff, 1 s limit."""

    def start():
        env = dict(worker_env, WEBHOOK_MAX_ATTEMPTS="3", WEBHOOK_BACKOFF_SECONDS="0.3",
                   WEBHOOK_TIMEOUT="1")
        return start_worker(queues="high", env=env)

    return start
