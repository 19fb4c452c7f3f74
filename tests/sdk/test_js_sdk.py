"""The JavaScript SDK (sdk/js) against the real app: node's test runner runs
sdk/js/test/sdk.test.js with gunicorn servers and a worker started here. Skipped, with the
reason, where node is not installed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
NODE = shutil.which("node")


def _websocket_flags() -> list[str] | None:
    """Node flags that give the global WebSocket (None: this node has none)."""
    for flags in ([], ["--experimental-websocket"]):
        probe = subprocess.run([NODE, *flags, "-e",
                                "process.exit(typeof WebSocket === 'function' ? 0 : 1)"],
                               capture_output=True, timeout=30)
        if probe.returncode == 0:
            return flags
    return None


@pytest.mark.skipif(NODE is None, reason="node is not installed: the JavaScript SDK is untested")
def test_javascript_sdk_against_the_real_app(stack, sdk_server, make_user):
    flags = _websocket_flags()
    main = stack
    tight = sdk_server(JWT_ACCESS_SECONDS=2, RATELIMIT_USER="3/1second")
    user = make_user(role="developer")
    env = {**os.environ, "SDK_BASE_URL": f"{main.url}/api", "SDK_TIGHT_URL": f"{tight.url}/api",
           "SDK_USERNAME": user.username, "SDK_PASSWORD": user.password}
    run = subprocess.run([NODE, *(flags or []), "--test", "--test-reporter=tap",
                          "sdk/js/test/"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=240)
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-8000:]
    counts = {k: int(v) for k, v in re.findall(r"^# (pass|fail|skipped) (\d+)$", report, re.M)}
    # Without a WebSocket in this node, its two socket tests are skipped (saying why).
    ran = 8 if flags is not None else 6
    assert counts.get("fail") == 0 and counts.get("pass") == ran, report[-4000:]
    assert counts.get("skipped") == 8 - ran, report[-4000:]
