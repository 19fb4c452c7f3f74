"""Fan-out figures: many sockets on one web process watching one running command.

    .venv/bin/python bench/fanout.py [--clients 500] [--rate 100] [--seconds 20]

One gunicorn process (gthread, one thread per socket), one real worker (`worker.py`), a command
printing `rate` numbered lines per second for `seconds`. `--clients` sockets (spread over four
client processes, each a single-threaded selector loop with a minimal frame parser, so the
clients cost little CPU next to the server) authenticate, subscribe to the command's output and
then the command starts. Measured:

- every client got every line: seq 1..N, each once, in order, then `command_completed`;
- latency from the line being read by the worker (the line's `timestamp`) to the client having
  parsed it: p50 / p99 / max over all (line, client) pairs;
- messages per second delivered to all clients together.

Baseline in the same run: raw Redis pub/sub between two processes (a publisher at the same rate
and one subscriber) — what one hop of pub/sub costs on this machine — and the ratio of the
fan-out's latency to it. Targets: every client gets every line; p99 under 100 ms.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import selectors
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

PACER = '''
import os, sys, time
n, rate = int(sys.argv[1]), float(sys.argv[2])
while not os.path.exists("GO"):
    time.sleep(0.01)
start = time.monotonic()
for i in range(1, n + 1):
    delay = start + (i - 1) / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    print(f"line {i}", flush=True)
'''


# ---------------------------------------------------------------- client process

class Client:
    """One socket: handshake done blocking, then frames parsed by hand in the selector loop."""

    def __init__(self, host: str, port: int, path: str) -> None:
        self.sock = socket.create_connection((host, port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise SystemExit("handshake refused")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise SystemExit(f"handshake failed: {head[:200]!r}")
        self.buf = bytearray(head.split(b"\r\n\r\n", 1)[1])
        self.sock.setblocking(False)
        self.subscribed = False
        self.done = False
        self.closed = False
        self.seqs: list[int] = []

    def send_text(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        header = bytearray([0x81])
        n = len(payload)
        if n < 126:
            header.append(0x80 | n)
        elif n < 65536:
            header += bytes([0x80 | 126]) + n.to_bytes(2, "big")
        else:
            header += bytes([0x80 | 127]) + n.to_bytes(8, "big")
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.setblocking(True)
        self.sock.sendall(bytes(header) + mask + masked)
        self.sock.setblocking(False)

    def frames(self):
        """Complete (opcode, payload) frames in the buffer."""
        buf = self.buf
        while len(buf) >= 2:
            opcode, n = buf[0] & 0x0F, buf[1] & 0x7F
            start = 2
            if n == 126:
                if len(buf) < 4:
                    return
                n, start = int.from_bytes(buf[2:4], "big"), 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n, start = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < start + n:
                return
            payload = bytes(buf[start:start + n])
            del buf[:start + n]
            yield opcode, payload


def client_main(url: str, session_id: str, token: str, command_id: str, count: int,
                timeout: float) -> None:
    host, port = url.split("//")[1].split(":")
    sel = selectors.DefaultSelector()
    clients = []
    for _ in range(count):
        c = Client(host, int(port), f"/ws/{session_id}")
        c.send_text(json.dumps({"type": "authenticate", "token": token}))
        c.send_text(json.dumps({"type": "subscribe", "channel": "command_output",
                                "command_id": command_id}))
        sel.register(c.sock, selectors.EVENT_READ, c)
        clients.append(c)
    latencies: list[float] = []
    first = last = None
    ready_sent = False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(c.done or c.closed for c in clients):
        if not ready_sent and all(c.subscribed for c in clients):
            print("READY", flush=True)
            ready_sent = True
        for key, _ in sel.select(0.5):
            c: Client = key.data
            try:
                data = c.sock.recv(262144)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            now = time.time()
            if not data:
                c.closed = True
                sel.unregister(c.sock)
                continue
            c.buf += data
            for opcode, payload in c.frames():
                if opcode == 9:  # ping: answer with a masked pong
                    c.sock.setblocking(True)
                    c.sock.sendall(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
                    c.sock.setblocking(False)
                    continue
                if opcode == 8:
                    c.closed = True
                    continue
                if opcode != 1:
                    continue
                message = json.loads(payload)
                kind = message["type"]
                if kind == "command_output":
                    d = message["data"]
                    c.seqs.append(d["seq"])
                    if d["stream"] == "stdout":
                        latencies.append(now - datetime.fromisoformat(d["timestamp"]).timestamp())
                        first = first or now
                        last = now
                elif kind == "subscribed":
                    c.subscribed = True
                elif kind == "command_completed":
                    c.done = True
                elif kind == "error":
                    print("ERROR " + json.dumps(message), file=sys.stderr, flush=True)
    print("RESULT " + json.dumps({
        "complete": [c.done and c.seqs == list(range(1, len(c.seqs) + 1)) for c in clients],
        "lines": [len(c.seqs) for c in clients], "latencies": [round(x, 5) for x in latencies],
        "first": first, "last": last, "cpu": time.process_time()}), flush=True)


# ---------------------------------------------------------------- raw pub/sub baseline

def raw_sub_main(redis_url: str, channel: str, count: int) -> None:
    """A plain Redis subscriber process: latency of each line from its `timestamp`."""
    import redis

    pubsub = redis.Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel)
    while pubsub.get_message(timeout=0.1) is None and not pubsub.subscribed:
        pass
    print("READY", flush=True)
    latencies: list[float] = []
    while len(latencies) < count:
        message = pubsub.get_message(timeout=30)
        if message is None:
            break
        now = time.time()
        for line in json.loads(message["data"])["lines"]:
            latencies.append(now - datetime.fromisoformat(line["timestamp"]).timestamp())
    print("RESULT " + json.dumps({"latencies": latencies}), flush=True)


def raw_subscriber(redis_url: str, channel: str, count: int) -> subprocess.Popen:
    sub = subprocess.Popen([sys.executable, __file__, "--raw-sub", redis_url, channel,
                            str(count)], stdout=subprocess.PIPE, text=True)
    assert sub.stdout.readline().strip() == "READY"
    return sub


def raw_baseline(redis_url: str, rate: float, count: int) -> list[float]:
    import redis

    from app.errors import iso, utcnow

    sub = raw_subscriber(redis_url, "raw", count)
    r = redis.Redis.from_url(redis_url)
    start = time.monotonic()
    for i in range(count):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        r.publish("raw", json.dumps({"owner_type": "command", "owner_id": "x", "lines": [
            {"seq": i + 1, "stream": "stdout", "kind": "line", "content": f"line {i + 1}\n",
             "data": None, "timestamp": iso(utcnow())}]}))
    out = _result(sub)
    return out["latencies"]


def _result(proc: subprocess.Popen) -> dict:
    for line in proc.stdout:
        if line.startswith("RESULT "):
            proc.wait(30)
            return json.loads(line[7:])
    raise SystemExit(f"process {proc.args} gave no result")


# ---------------------------------------------------------------- driver

def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--client-procs", type=int, default=4)
    args = parser.parse_args()
    lines = int(args.rate * args.seconds)

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _harness import Harness, percentile

    h = Harness(WS_MAX_CONNECTIONS_PER_USER=str(args.clients + 10),
                RATELIMIT_USER="1000000/minute", RATELIMIT_ANONYMOUS="1000000/minute")
    try:
        from flask_jwt_extended import create_access_token

        from app.services import sessions
        from app.services.users import create_user

        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        web = h.spawn([gunicorn, "-k", "gthread", "--workers", "1", "--threads",
                       str(args.clients + 50), "--graceful-timeout", "5", "--bind",
                       f"127.0.0.1:{port}", "wsgi:app"])
        _wait_http(url)
        worker = h.app_workers(1)[0]
        h.workspaces.mkdir(parents=True, exist_ok=True)
        (h.workspaces / "pacer.py").write_text(PACER)
        with h.app.app_context():
            user = create_user("fanout", "bench-password-1", role="admin")
            session_id = str(sessions.create_session(user).id)
            token = create_access_token(identity=str(user.id))
        command_id = _post(url, "/api/commands/execute", token, {
            "command": f"python3 -u pacer.py {lines} {args.rate}", "timeout": 3600})["command_id"]

        per = [args.clients // args.client_procs + (1 if i < args.clients % args.client_procs
                                                     else 0) for i in range(args.client_procs)]
        procs = [subprocess.Popen([sys.executable, __file__, "--client", url, session_id, token,
                                   command_id, str(n), str(args.seconds + 120)],
                                  stdout=subprocess.PIPE, text=True) for n in per if n]
        for proc in procs:
            line = proc.stdout.readline().strip()
            if line != "READY":
                raise SystemExit(f"client process not ready: {line!r}")
        beside = raw_subscriber(h.redis_url, f"output:command:{command_id}", lines)
        print(f"{args.clients} clients subscribed; printing {lines} lines at {args.rate:g}/s")
        groups = {"web process": [web.pid], "worker (+command)": [worker.pid],
                  "client processes": [p.pid for p in procs]}
        cpu_before = {name: _cpu(pids) for name, pids in groups.items()}
        started = time.monotonic()
        (h.workspaces / "GO").touch()
        results = [_result(p) for p in procs]
        wall = time.monotonic() - started
        direct = _result(beside)["latencies"]
        cpu = {name: _cpu(groups[name]) - cpu_before[name] for name in groups}
        cpu["client processes"] = sum(r["cpu"] for r in results)  # their whole life

        complete = sum(sum(r["complete"]) for r in results)
        latencies = [x for r in results for x in r["latencies"]]
        first = min(r["first"] for r in results if r["first"])
        last = max(r["last"] for r in results if r["last"])
        delivered = sum(sum(r["lines"]) for r in results)
        print(f"clients with every line once, in order, then command_completed: "
              f"{complete}/{args.clients}")
        print(f"lines per client: {lines}; messages delivered: {delivered} "
              f"({delivered / max(last - first, 1e-9):,.0f} messages/s over "
              f"{last - first:.1f} s)")
        fan = {p: percentile(latencies, p) * 1000 for p in (50, 99)}
        print(f"fan-out latency (worker read -> client parsed), ms: p50 {fan[50]:.1f}  "
              f"p99 {fan[99]:.1f}  max {max(latencies) * 1000:.1f}  (n={len(latencies)})")

        same = {p: percentile(direct, p) * 1000 for p in (50, 99)}
        print(f"the same lines read straight from Redis by a plain subscriber process during the "
              f"run, ms: p50 {same[50]:.1f}  p99 {same[99]:.1f}  (n={len(direct)}; worker "
              f"batching + one pub/sub hop under the same load)")
        print(f"added by the realtime layer (hub + sockets + clients), ms: p50 "
              f"{fan[50] - same[50]:.1f}  p99 {fan[99] - same[99]:.1f}")
        print("CPU seconds during the run (wall {:.1f} s): {}".format(wall, ", ".join(
            f"{name} {sec:.1f} ({sec / wall:.0%})" for name, sec in cpu.items())))
        time.sleep(11)  # the hub publishes its figures every 10 s
        import redis as redis_lib

        conn = redis_lib.Redis.from_url(h.redis_url, decode_responses=True)
        for key in conn.scan_iter("realtime:hub:*"):
            stats = conn.hgetall(key)
            print(f"hub of the web process: {stats.get('direct')} batches written directly by "
                  f"the listener, {stats.get('queued')} via socket threads, "
                  f"{stats.get('dropped')} dropped")

        raw = raw_baseline(h.redis_url, args.rate, min(lines, 1000))
        base = {p: percentile(raw, p) * 1000 for p in (50, 99)}
        print(f"baseline raw Redis pub/sub, 2 processes, {args.rate:g} msg/s, after the run, ms: "
              f"p50 {base[50]:.2f}  p99 {base[99]:.2f}  (n={len(raw)})")
        print(f"ratio fan-out / raw pub/sub: p50 x{fan[50] / base[50]:.0f}  "
              f"p99 x{fan[99] / base[99]:.0f};  fan-out / same-lines subscriber: "
              f"p50 x{fan[50] / same[50]:.1f}  p99 x{fan[99] / same[99]:.1f}")
        verdict = complete == args.clients and fan[99] < 100
        print(f"targets (every client every line; p99 < 100 ms): "
              f"{'met' if verdict else 'NOT met'}")
    finally:
        h.close()


def _cpu(pids: list[int]) -> float:
    """user+system CPU seconds of these processes and their children so far."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            for p in [proc, *proc.children(recursive=True)]:
                t = p.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
        except psutil.NoSuchProcess:
            continue
    return total


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/api/health/", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("web process did not start")


def _post(url: str, path: str, token: str, body: dict) -> dict:
    request = urllib.request.Request(f"{url}{path}", data=json.dumps(body).encode(),
                                     method="POST", headers={
                                         "Authorization": f"Bearer {token}",
                                         "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.load(resp)["data"]


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        a = sys.argv[2:]
        client_main(a[0], a[1], a[2], a[3], int(a[4]), float(a[5]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--raw-sub":
        raw_sub_main(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
